// The independent Sparkplug B peer of tests/system/test_sparkplug.py:
// Eclipse Tahu's JS codec (sparkplug-payload) over the `mqtt` client.
//   node peer.js sub PORT FILTER   prints one JSON line per message:
//                                  {"topic", "payload"} (decoded, or the
//                                  text of a STATE), "ready" once subscribed
//   node peer.js pub PORT TOPIC JSON   encodes JSON as a Sparkplug payload
//                                  (Tahu's object form) and publishes it
'use strict';
const mqtt = require('mqtt');
const sp = require('sparkplug-payload').get('spBv1.0');

const [mode, port, topic, json] = process.argv.slice(2);
const c = mqtt.connect({host: '127.0.0.1', port: Number(port),
                        protocolVersion: 4, reconnectPeriod: 200});
function big(k, v) {
  if (v && typeof v === 'object' && v.low !== undefined &&
      v.high !== undefined)   // a Long
    return require('long').fromValue(v).toString();
  if (v && v.type === 'Buffer') return v.data;
  return v;
}
if (mode === 'sub') {
  c.on('connect', () => c.subscribe(topic, {qos: 1}, () => {
    console.log(JSON.stringify({ready: true}));
  }));
  c.on('message', (t, p) => {
    let payload;
    if (t.includes('/STATE/')) payload = p.toString();
    else payload = sp.decodePayload(p);
    console.log(JSON.stringify({topic: t, payload}, big));
  });
} else if (mode === 'pub') {
  c.on('connect', () => {
    const obj = JSON.parse(json);
    c.publish(topic, Buffer.from(sp.encodePayload(obj)), {qos: 1},
              () => c.end(false, () => process.exit(0)));
  });
} else {
  console.error('usage: peer.js sub|pub PORT TOPIC [JSON]');
  process.exit(2);
}
