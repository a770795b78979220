// st-ethernet-ip (npm, pinned in tests/system/logix_node) reading the
// bench's arrays from logixserver for SECONDS: one readTag per array
// (a whole array per request), rounds of all arrays back to back. Its
// TagGroup is not used: it packs MSPs by request size (300 bytes), so
// replies of whole arrays overflow the connection (0x06).
// Prints one JSON line. Usage: node logixbench.js PORT ARRAYS LEN SECONDS
const cfg = require('st-ethernet-ip/dist/config');
cfg.EIP_PORT = parseInt(process.argv[2], 10); // read at connect time
const { Controller, Tag } = require('st-ethernet-ip');

const narr = parseInt(process.argv[3], 10);
const len = parseInt(process.argv[4], 10);
const seconds = parseFloat(process.argv[5]);

(async () => {
  const plc = new Controller();
  await plc.connect('127.0.0.1', 0, false);
  const tags = [];
  for (let i = 0; i < narr; i++)
    tags.push(new Tag('A' + i, null, 0xC4, 0, 1, len));
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let rounds = 0, sum = 0;
  while (Number(process.hrtime.bigint() - t0) / 1e9 < seconds) {
    for (const tag of tags)
      await plc.readTag(tag, len);
    rounds++;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  for (const tag of tags) sum += Array.isArray(tag.value) ? tag.value.length : 1;
  await plc.disconnect();
  console.log(JSON.stringify({ rounds, wall, values_per_round: sum,
    cpu_s: (cpu.user + cpu.system) / 1e6 }));
})().catch(e => { console.error('ERR', e); process.exit(1); });
