import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unitIdFromBody } from './unitId.js';

const scan = (text: string) => unitIdFromBody(Buffer.from(text));

describe('unitIdFromBody', () => {
  it('finds user.id wherever the members are', () => {
    assert.equal(scan('{"user": {"id": "u1", "features": {"country": "us"}}, "candidates": []}'), 'u1');
    assert.equal(scan('{"candidates":[{"id":"c1","features":{"id":"no","user":{"id":"nested"}}},[1,2,{"a":"}"}]],"user":{"features":{"id":"f"},"id":"u2"}}'), 'u2');
    assert.equal(scan(' \n{ "user" :\t{ "features" : null , "id" : "u3" } }'), 'u3');
    assert.equal(scan('{"note": "a \\"user\\": {\\"id\\": \\"fake\\"}", "user": {"id": "real"}}'), 'real');
  });

  it('reads ids as JSON.parse does: escapes, unicode, numbers', () => {
    for (const id of ['ü-ß-用户', 'with "quotes" and \\ slash', 'tab\there', '😀']) {
      assert.equal(scan(JSON.stringify({ user: { id, features: {} }, candidates: [] })), id);
    }
    assert.equal(scan('{"user": {"id": 12345}}'), '12345');
    assert.equal(scan('{"user": {"id": -1.5e3}}'), String(JSON.parse('-1.5e3')));
  });

  it('answers null without a usable id, for any bytes', () => {
    for (const text of [
      '',
      '[]',
      '{}',
      '{"user": {}}',
      '{"user": "u1"}',
      '{"user": {"id": ""}}',
      '{"user": {"id": null}}',
      '{"user": {"id": {"a": 1}}}',
      '{"candidates": [1, 2',
      '{"user": {"id": "unterminated',
      '{"user" {"id": "u1"}}',
      'not json at all',
    ]) {
      assert.equal(scan(text), null, text);
    }
  });

  it('agrees with JSON.parse on generated requests', () => {
    for (let i = 0; i < 200; i++) {
      const body = {
        ...(i % 3 === 0 ? { candidates: Array.from({ length: i % 7 }, (_, k) => ({ id: `c${k}`, features: { tags: ['a', 'b'], n: k } })) } : {}),
        user: { features: { country: 'us', id: 'feature-not-user' }, id: i % 5 === 0 ? i : `user-${i}` },
        ...(i % 3 !== 0 ? { candidates: [{ id: 'c', features: {} }] } : {}),
      };
      const text = i % 2 ? JSON.stringify(body) : JSON.stringify(body, null, 2);
      assert.equal(scan(text), String(JSON.parse(text).user.id));
    }
  });
});
