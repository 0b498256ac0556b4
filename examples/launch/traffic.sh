#!/bin/sh
# Sends ranking requests through the router, one user after another, and prints which model
# answered each one: run it during a launch and watch the answers move from one model to the next.
ROUTER=${ROUTER:-http://127.0.0.1:8090}
TYPE=${TYPE:-ig_feed_main_mtml}
i=0
while true; do
  i=$((i + 1))
  curl -s -o /dev/null -w "%{http_code} %header{x-modelfleet-model}\n" "$ROUTER/rank/$TYPE" \
    -H 'content-type: application/json' \
    -d "{\"user\": {\"id\": \"u$i\", \"features\": {\"country\": \"us\"}}, \"candidates\": [{\"id\": \"c1\", \"features\": {\"media\": \"video\"}}]}"
  sleep 0.05
done
