"""Render figures of mscada's browser app in headless Chromium (bench/README.md
"HMI"): against a real bus and wwwserver serving BUILD/web,
 1. first value on screen: ms from navigation to the first value written
    into the page (median of 5 loads);
 2. 1,000 tag updates/s (100 float tags, 10 sets each a second, for 10 s)
    while the page is measured for input: the longest gap of a 10 ms timer
    (main-thread blocking) and the time from a CDP key press to its
    keydown handler; every update counted into the page;
 3. a trend of 86,400 points per series (two series, one day at 1 s):
    time to align and draw it (median of 5).
Usage: /usr/bin/python3 bench/hmi_render.py --mscada build/mscada --build build"""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'tests', 'system'))
import mshelp as h  # noqa: E402
import wwwhelp as w  # noqa: E402
import test_hmi as t  # noqa: E402
from mshelp import Bus  # noqa: E402

N = 100


def test_render_figures():
    t.need_browser()
    tags = ''.join('T%03d: {type: float, dp: 2}\n' % i for i in range(N))
    tags += 'A: {type: float}\nB: {type: float}\n'
    pages = ('pages:\n- name: Many\n  items:\n' +
             ''.join('  - {type: value, tagname: T%03d}\n' % i
                     for i in range(N)) +
             '- name: Day\n  items:\n  - type: uplot\n    ms: {height: 400}\n'
             '    axes: [{scale: x, range: [-86400, 0]}]\n'
             '    series: [{tagname: A}, {tagname: B}]\n')
    bus = Bus()
    www = w.Www(bus.port, tags=tags, yaml_extra=pages,
                env={'MSCADA_WWW_APP': t.app_dir()})
    c = bus.client()
    ids = [c.id('T%03d' % i) for i in range(N)]
    for i in ids:
        c.set_value(i, 1.0, h.FLOAT)
    c.sync()
    url = 'http://127.0.0.1:%d/#/Many' % www.port

    first = []
    for _ in range(5):
        p = t.Page(url)
        first.append(p.wait('mscada.firstShownMs', 'first value'))
        p.close()
    print('first value on screen: median %.0f ms, max %.0f ms (5 loads)'
          % (statistics.median(first), max(first)))

    p = t.Page(url)
    p.wait("document.querySelectorAll('main .card').length === %d && "
           "mscada.firstShownMs" % N, 'the page')
    p.eval("""(() => {
      window.lag = 0; let last = performance.now();
      setInterval(() => { const n = performance.now();
        lag = Math.max(lag, n - last - 10); last = n; }, 10);
      window.keys = []; window.addEventListener('keydown', (e) => {
        keys.push(performance.now() - Number(e.key === 'x' ? window.sent : 0)); });
      window.v0 = mscada.stats.values; window.f0 = performance.now();
      window.frames = 0; const fr = () => { frames++; requestAnimationFrame(fr); };
      requestAnimationFrame(fr);
    })()""")
    seconds = 10
    sent = 0
    key_ms = []
    t0 = time.monotonic()
    for s in range(seconds * 100):  # 10 sets per 10 ms slot
        for k in range(10):
            c.set_value(ids[(s * 10 + k) % N], float(s) + k / 10, h.FLOAT)
            sent += 1
        if s % 50 == 0:  # a key press every 0.5 s, timed in the page
            k0 = time.monotonic()
            p.call('Input.dispatchKeyEvent', type='keyDown', key='y',
                   text='y')
            p.call('Input.dispatchKeyEvent', type='keyUp', key='y')
            key_ms.append((time.monotonic() - k0) * 1000)
        delay = t0 + (s + 1) / 100 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    c.sync()
    got = p.wait('mscada.stats.values - v0 >= %d ? mscada.stats.values - v0'
                 ' : 0' % (sent * 0.99), 'updates in the page', timeout=30)
    r = p.eval('({lag, frames, s: (performance.now() - f0) / 1000})')
    print('%d updates in %.1f s sent (%.0f/s); %d reached the page '
          '(the server conflates a busy tab); frames %.0f/s; longest '
          'main-thread gap %.1f ms; CDP key press round trip median %.1f '
          'ms, max %.1f ms' % (sent, time.monotonic() - t0,
                               sent / (time.monotonic() - t0), got,
                               r['frames'] / r['s'], r['lag'],
                               statistics.median(key_ms), max(key_ms)))
    p.close()

    p = t.Page('http://127.0.0.1:%d/#/Day' % www.port)
    p.wait('window.mscadaTrends && mscadaTrends.length === 1', 'the trend')
    p.eval("""(() => {
      const now = Date.now() / 1000, tr = mscadaTrends[0];
      for (const [k, tag] of tr.tags.entries()) {
        const s = tag.track(); s.t = []; s.v = [];
        for (let i = 0; i < 86400; i++) {
          s.t.push(now - 86400 + i); s.v.push(Math.sin(i / 3600 + k) * 50 + 50); }
      }
    })()""")
    ms = []
    for _ in range(5):
        ms.append(p.eval("""(() => { const tr = mscadaTrends[0];
          const t0 = performance.now(); tr.draw();
          return performance.now() - t0; })()"""))
    pts = p.eval('mscadaTrends[0].u.data[0].length')
    print('trend of 2 x 86,400 points (%d on the time axis): draw median '
          '%.1f ms, max %.1f ms (5 draws)' % (pts, statistics.median(ms),
                                              max(ms)))
    p.close()


if __name__ == '__main__':
    h.main(globals())
