// st-ethernet-ip (an independent EtherNet/IP client) against mscada's
// logixserver: writes then reads back every atomic type, an array
// element range, a bit (BOOL member of a DINT), UDT members and a STRING,
// after its default connect (SETUP: the identity, the tag list and every
// template), and prints one JSON line. Usage: node peer.js PORT
const cfg = require('st-ethernet-ip/dist/config');
cfg.EIP_PORT = parseInt(process.argv[2], 10); // read at connect time
const { Controller, Tag } = require('st-ethernet-ip');

(async () => {
  const plc = new Controller();
  await plc.connect('127.0.0.1', 0);
  const out = {};
  out.tags = plc.tagList.map(t => [t.name, t.type.typeName,
                                   t.type.structure]);
  out.templates = Object.values(plc.templateList).map(t => [
    t._name, t._attributes.StructureSize,
    t._members.map(m => [m.name, m.type.code, m.offset])]);
  const atoms = [
    ['S8', 0xC2, -128], ['I16', 0xC3, 32767], ['D32', 0xC4, -2147483648],
    ['L64', 0xC5, BigInt('-9223372036854775808')], ['R32', 0xCA, 1.5],
  ];
  for (const [name, type, val] of atoms) {
    const t = new Tag(name, null, type);
    t.value = val;
    await plc.writeTag(t);
    const r = new Tag(name);
    await plc.readTag(r);
    out[name] = typeof r.value === 'bigint' ? r.value.toString() : r.value;
  }
  const el = new Tag('Iout[5]', null, 0xC4);
  el.value = 7;
  await plc.writeTag(el);
  const arr = new Tag('Iout', null, 0xC4, 0, 10);
  await plc.readTag(arr, 10);
  out.Iout = arr.value;
  const bit = new Tag('Word.3', null, 0xC4);
  bit.value = true;
  await plc.writeTag(bit);
  const word = new Tag('Word');
  await plc.readTag(word);
  out.Word = word.value;
  const sp = new Tag('M1.Speed', null, 0xCA);
  sp.value = 2.5;
  await plc.writeTag(sp);
  const cnt = new Tag('M1.Count', null, 0xC4);
  cnt.value = -7;
  await plc.writeTag(cnt);
  const spr = new Tag('M1.Speed');
  await plc.readTag(spr);
  out.Speed = spr.value;
  const mc = new Tag('Motors[1].Count', null, 0xC4);
  mc.value = 42;
  await plc.writeTag(mc);
  const mcr = new Tag('Motors[1].Count');
  await plc.readTag(mcr);
  out.MotorsCount = mcr.value;
  const mb0 = new Tag('M1.Count.0', null, 0xC4);
  mb0.value = false; // Read-Modify-Write on a member: -7 & ~1 = -8
  await plc.writeTag(mb0);
  const m1 = plc.newTag('M1', null, false);
  await plc.readTag(m1);
  out.M1 = m1.value;
  const name = plc.newTag('Name', null, false);
  name.value = 'hello logix';
  await plc.writeTag(name);
  const name2 = plc.newTag('Name', null, false);
  await plc.readTag(name2);
  out.Name = name2.value;
  const bad = new Tag('M1.Nope');
  try { await plc.readTag(bad); out.MNope = 'read'; }
  catch (e) { out.MNope = JSON.stringify(e); }
  const missing = new Tag('Nope');
  try { await plc.readTag(missing); out.Nope = 'read'; }
  catch (e) { out.Nope = JSON.stringify(e); }
  await plc.disconnect();
  // its setup leaves a 40 s tag-list timeout armed: exit once written
  process.stdout.write(JSON.stringify(out, (k, v) =>
    typeof v === 'bigint' ? v.toString() : v) + '\n', () => process.exit(0));
})().catch(e => { console.error('ERR', e); process.exit(1); });
