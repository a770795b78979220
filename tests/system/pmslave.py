"""A pymodbus 3.0 slave for the system tests (the independent peer of
modbusclient and msm_master), run by /usr/bin/python3 in a process of its
own:

    python3 pmslave.py KIND WHERE UNITS

KIND: tcp or udp (WHERE: a port on 127.0.0.1), or serial (WHERE: a device,
RTU framing at 19200 8N1). UNITS: JSON, {"UNIT": {"hr": [...], "ir": [...],
"co": [...], "di": [...]}}, tables starting at address 0 (a table left out
is pymodbus' default); the unit "any" is one context answering every unit.
Over TCP and UDP it logs 'listening on 127.0.0.1:PORT' once its socket is
bound: start() waits for that line, so the port is known to be this
slave's and not another test's process that took it meanwhile."""

import json
import os
import sys

import mshelp as h

PY = '/usr/bin/python3'


def start(d, kind, where, units, name='slave'):
    """Runs a slave with its output to d/NAME.log (appended: a restart
    keeps the earlier log); over TCP and UDP returns once it listens, the
    port in the returned process's .port (WHERE 0: one the system picked,
    which no other process can hold)."""
    log = os.path.join(d, name + '.log')

    def run(where):
        mark = h.log_size(log)
        return h.spawn([PY, os.path.abspath(__file__), kind, str(where),
                        json.dumps(units)], log), log, mark
    if kind == 'serial':
        return run(where)[0]
    p, port = h.serve(run, 'listening on 127.0.0.1:{port}', port=int(where),
                      what='pymodbus slave', timeout=90)
    p.port = port
    return p


def _context(units):
    from pymodbus.datastore import (ModbusSequentialDataBlock,
                                    ModbusServerContext, ModbusSlaveContext)

    def slave(tables):
        return ModbusSlaveContext(zero_mode=True, **{
            k: ModbusSequentialDataBlock(0, v) for k, v in tables.items()})
    if 'any' in units:
        return ModbusServerContext(slaves=slave(units['any']), single=True)
    return ModbusServerContext(slaves={int(u): slave(t)
                                       for u, t in units.items()},
                               single=False)


async def _serve(kind, port, ctx):
    import asyncio
    from pymodbus.server import StartAsyncTcpServer, StartAsyncUdpServer
    start_server = StartAsyncTcpServer if kind == 'tcp' else \
        StartAsyncUdpServer
    kw = {'allow_reuse_address': True} if kind == 'tcp' else {}
    server = await start_server(context=ctx, address=('127.0.0.1', port),
                                defer_start=True, ignore_missing_slaves=True,
                                **kw)
    run = asyncio.ensure_future(server.serve_forever())
    await asyncio.wait([run, server.serving],
                       return_when=asyncio.FIRST_COMPLETED)
    if run.done():
        run.result()  # the bind's error
    if kind == 'tcp':
        bound = server.server.sockets[0].getsockname()
    else:
        bound = server.protocol.get_extra_info('sockname')
    print('listening on %s:%d' % bound[:2], flush=True)
    await run


def main(kind, where, units):
    import asyncio
    import logging
    logging.basicConfig(level=logging.WARNING)
    ctx = _context(json.loads(units))
    if kind == 'serial':
        from pymodbus.server import StartSerialServer
        from pymodbus.transaction import ModbusRtuFramer
        StartSerialServer(context=ctx, framer=ModbusRtuFramer, port=where,
                          baudrate=19200, parity='N', stopbits=1, bytesize=8,
                          ignore_missing_slaves=True)
    else:
        asyncio.run(_serve(kind, int(where), ctx))


if __name__ == '__main__':
    main(*sys.argv[1:4])
