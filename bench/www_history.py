"""How long a trend's history takes through `mscada wwwserver`: a real bus,
a real `mscada history` holding one day of 1 s float data (86,400 records)
for one tag, and a browser tab (python3-websockets) asking for that day
the way the HMI does (rta __history__ {tagname, start_ms, end_ms}, no
max_points: the server adds one, here 86,400). Reports the time from the
request to the whole reply frame arriving, over several requests.

    /usr/bin/python3 bench/www_history.py BUILD_DIR
"""

import asyncio
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'system'))
import mshelp as h  # noqa: E402
import wwwhelp as w  # noqa: E402
from test_history import History  # noqa: E402

N = 86400


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    h.MSCADA = os.path.abspath(os.path.join(build, 'mscada'))
    try:
        bus = h.Bus()
        hist = History(bus, flush_interval=1,
                       tags='Flow:\n  type: float\n')
        www = w.Www(bus.port, tags='Flow:\n  type: float\n')
        c = bus.client()
        fid = c.id('Flow')
        t0 = (h.now_us() // 1000000 - N - 10) * 1000000
        for i in range(N):
            c.set_value(fid, float(i % 1000), h.FLOAT, time_us=t0 + i * 1000000)
        c.sync()
        start_ms, end_ms = t0 // 1000, (t0 + N * 1000000) // 1000

        async def go():
            ws = await w.tab(www)
            await w.send(ws, 'sub', '__history__')
            await w.recv(ws)
            times = []
            for k in range(12):
                t = time.perf_counter()
                await w.send(ws, 'rta', '__history__',
                              {'tagname': 'Flow', 'start_ms': start_ms,
                               'end_ms': end_ms})
                m, _ = await w.recv_until(
                    ws, lambda m: isinstance(m, bytes) and len(m) > 18,
                    'the reply')
                dt = time.perf_counter() - t
                n = (len(m) - 18) // 16
                if n < N:  # history still taking the values in
                    await asyncio.sleep(0.5)
                    continue
                times.append(dt)
            await ws.close()
            return times, n, len(m)
        times, n, size = w.run(go())
        times.sort()
        print('history reply of %d records (%d bytes) through the '
              'wwwserver: min %.1f ms, median %.1f ms, max %.1f ms '
              '(%d requests)' % (n, size, times[0] * 1000,
                                 times[len(times) // 2] * 1000,
                                 times[-1] * 1000, len(times)))
    finally:
        h._stop_all()
        for d in h._tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main()
