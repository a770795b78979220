"""mscada's browser app (web/, docs/hmi.md) in headless Chromium over the
DevTools protocol, against a real bus, `mscada history` and `mscada
wwwserver` serving the built app (BUILD/web): every item type shows the
bus's value; a setpoint through the dialog reaches the bus and a value
outside min/max is refused in the dialog; a selectdict change; a trend
shows history records plus live points, draws its line in the configured
colour on the light card and in one that contrasts 3:1 on the dark card
(canvas pixels), and asks history again when zoomed out; wwwserver and
bus restarts resume without a reload; a phone viewport has no horizontal
scroll; screenshots of the demo (desktop, phone, dark) into
BUILD/hmi-shots/ (and docs/img/ with MSCADA_UPDATE_SCREENSHOTS=1). Skips,
saying why, without chromium, python3-websocket or the built app."""

import base64
import json
import os
import shutil

import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq
from test_history import History
from test_www_chromium import Cdp, need_chromium, start_chromium

TAGS = """\
Level: {desc: Tank level, type: float, units: m, dp: 2, min: 0, max: 10}
Count: {desc: Pump starts, type: int}
Mode: {desc: Pump mode, multi: ['Off', Manual, Auto]}
Stamp: {desc: Last start, type: int, format: datetime}
Note: {desc: Operator note, type: str}
Sched: {desc: Schedule, type: dict}
Flow: {type: float}
"""

PAGES = """\
config: {primary_color: darkslateblue, secondary_color: teal}
pages:
- name: All
  items:
  - {type: h1, desc: Heading one}
  - {type: h2, desc: Heading two}
  - {type: h3, desc: Heading three}
  - {type: p, desc: A paragraph.}
  - {type: br}
  - {type: hr}
  - {type: linebreak}
  - {type: value, tagname: Level}
  - {type: value, tagname: Count}
  - {type: value, tagname: Mode}
  - {type: value, tagname: Stamp}
  - {type: value, tagname: Note}
  - {type: setpoint, tagname: Level}
  - {type: setpoint, tagname: Mode}
  - tagname: Sched
    type: selectdict
    opts: {type: multi, multi: ['Off', 'On']}
  - {type: files, desc: Config files, filter: yaml}
  - {type: opnotes, age_d: 7}
  - {type: alarms, age_d: 1}
  - {type: callout, tagname: Note}
  - {type: gizmo}
- name: Trend
  parent: More
  items:
  - type: uplot
    ms: {desc: Level trend, height: 300, legend_pos: right}
    axes:
    - {scale: x, range: [-3600, 60]}
    - {scale: m, range: [0, 10], dp: 1}
    series:
    - {tagname: Level, label: Level, scale: m, color: blue, width: 2}
    - {tagname: Count, label: Starts, scale: n, color: red}
"""

_browser = {}


def app_dir():
    d = os.path.abspath(os.path.join(h.ARGS.build or '', 'web'))
    return d if os.path.exists(os.path.join(d, 'index.html')) else None


def need_browser():
    need_chromium()
    if not app_dir():
        h.skip('the browser app is not built (BUILD/web: needs node and '
               'npm, scripts/deps.sh)')
    if 'port' in _browser:
        return _browser['port']
    _browser['proc'], _browser['port'] = start_chromium(
        h.tmpdir('mscada-chromium-'))
    return _browser['port']


class Page(Cdp):
    """A tab on the app; eval/wait/click/keys over CDP."""

    def __init__(self, url, phone=False, dark=False):
        port = need_browser()
        super().__init__(port, 'about:blank')
        if dark:
            self.call('Emulation.setEmulatedMedia', features=[
                {'name': 'prefers-color-scheme', 'value': 'dark'}])
        if phone:
            self.call('Emulation.setDeviceMetricsOverride', width=390,
                      height=844, deviceScaleFactor=1, mobile=True)
        else:
            self.call('Emulation.setDeviceMetricsOverride', width=1280,
                      height=800, deviceScaleFactor=1, mobile=False)
        self.call('Page.navigate', url=url)

    def wait(self, expr, what, timeout=60):
        box = {}

        def ok():
            box['v'] = self.eval(expr)
            return bool(box['v'])
        h.wait_until(ok, what, timeout=timeout, interval=0.05)
        return box['v']

    def text(self, sel):
        return self.eval('(e => e ? e.textContent : null)'
                         '(document.querySelector(%s))' % json.dumps(sel))

    def click(self, sel):
        check(self.eval('(e => e ? (e.click(), true) : false)'
                        '(document.querySelector(%s))' % json.dumps(sel)),
              'nothing to click at %s', sel)

    def key(self, key):
        codes = {'Enter': 13, 'Escape': 27}
        for t in ('keyDown', 'keyUp'):
            self.call('Input.dispatchKeyEvent', type=t, key=key, code=key,
                      windowsVirtualKeyCode=codes[key],
                      text='\r' if key == 'Enter' and t == 'keyDown' else '')

    def type(self, text):
        self.call('Input.insertText', text=text)

    def frames(self):
        """Until two animation frames have passed (drawn, painted)."""
        self.call('Runtime.evaluate', awaitPromise=True, expression=
                  'new Promise(r => requestAnimationFrame(() => '
                  'requestAnimationFrame(() => r(1))))')

    def shot(self, name):
        self.frames()
        data = base64.b64decode(self.call('Page.captureScreenshot',
                                          format='png')['data'])
        out = os.path.join(h.ARGS.build, 'hmi-shots')
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        if os.environ.get('MSCADA_UPDATE_SCREENSHOTS') == '1':
            docs = os.path.join(w.TOP, 'docs', 'img')
            os.makedirs(docs, exist_ok=True)
            shutil.copy(os.path.join(out, name), os.path.join(docs, name))


def card(sel_tag, kind='value'):
    return 'main .card.%s[data-tag="%s"] .reading' % (kind, sel_tag)


def setup(history=False):
    bus = Bus()
    hist = History(bus, tags=TAGS) if history else None
    www = w.Www(bus.port, tags=TAGS, yaml_extra=PAGES,
                env={'MSCADA_WWW_APP': app_dir()})
    c = bus.client()
    return bus, hist, www, c


def bus_value(c, name):
    return c.get(c.id(name)).value()[1]


def test_every_item_renders_the_bus_value():
    need_browser()
    bus, _, www, c = setup()
    stamp = 1767225600 * 1000000  # 2026-01-01T00:00:00Z
    c.set_value(c.id('Level'), 3.14159, h.FLOAT)
    c.set_value(c.id('Count'), 12, h.INT)
    c.set_value(c.id('Mode'), 2, h.INT)
    c.set_value(c.id('Stamp'), stamp, h.INT)
    c.set_value(c.id('Note'), 'pump 2 tripped', h.STR)
    c.set_value(c.id('Sched'), {'labels': ['Mon', 'Tue'], 'values': [0, 1],
                                'locks': [0, 1]}, h.JSON)
    c.set_value(c.id('__files__'), {'dat': [
        {'path': 'yaml', 'name': 'tags.yaml', 'desc': 'the tags'},
        {'path': 'pdf', 'name': 'manual.pdf', 'desc': ''}]}, h.JSON)
    c.sync()
    p = Page('http://127.0.0.1:%d/' % www.port)
    p.wait("document.querySelector(%s)?.textContent === '3.14 m'"
           % json.dumps(card('Level')), 'Level 3.14 m')
    check_eq(p.text(card('Count')), '12', 'int')
    check_eq(p.text(card('Mode')), 'Auto', 'multi state name')
    local = p.eval('(d => d.getFullYear() + "-" + String(d.getMonth() + 1)'
                   '.padStart(2, "0") + "-" + String(d.getDate())'
                   '.padStart(2, "0") + " " + d.toTimeString().slice(0, 8))'
                   '(new Date(%d))' % (stamp // 1000))
    check_eq(p.text(card('Stamp')), local, 'datetime in local time')
    check_eq(p.text(card('Note')), 'pump 2 tripped', 'str')
    check_eq(p.text(card('Level', 'setpoint')), '3.14 m', 'setpoint')
    check_eq(p.text('main h1'), 'Heading one', 'h1')
    check_eq(p.text('main h2'), 'Heading two', 'h2')
    check_eq(p.text('main .grid > h3'), 'Heading three', 'h3')
    check_eq(p.text('main .grid > p'), 'A paragraph.', 'p')
    check(p.eval("!!document.querySelector('main hr') && "
                 "!!document.querySelector('main .linebreak') && "
                 "!!document.querySelector('main .br')"), 'br hr linebreak')
    # The dict value may be drawn a frame after the scalars.
    p.wait("document.querySelectorAll('.selectdict .cell').length === 2",
           'selectdict cells')
    check_eq(p.eval("[...document.querySelectorAll('.selectdict .cell')]"
                    ".map(e => e.textContent + (e.disabled ? '!' : ''))"),
             ['MonOff', 'TueOn!'], 'selectdict cells, locked one disabled')
    p.wait("!!document.querySelector('.files a')", 'files link')
    check_eq(p.eval("[...document.querySelectorAll('.files a')]"
                    ".map(a => a.getAttribute('href'))"), ['yaml/tags.yaml'],
             'files filtered')
    notes = p.eval("[...document.querySelectorAll('.placeholder')]"
                   ".map(e => e.textContent)")
    for want in ('Operator notes: not available', 'Alarms: not available',
                 'Callout: not available', 'Unknown item type "gizmo"'):
        check(any(want in n for n in notes), '%r not in %r', want, notes)
    check_eq(p.eval("[...document.querySelectorAll('nav summary')]"
                    ".map(e => e.textContent)"), ['More'], 'parent dropdown')
    check_eq(p.eval("document.querySelector('nav .sub a').getAttribute("
                    "'href')"), '#/Trend', 'page URL')
    print('first value on screen %.0f ms after navigation'
          % p.eval('mscada.firstShownMs'))
    # live update, then a set the server refuses (outside min/max): the
    # page keeps showing the bus's value
    c.set_value(c.id('Level'), 4.5, h.FLOAT)
    p.wait("document.querySelector(%s).textContent === '4.50 m'"
           % json.dumps(card('Level')), 'Level 4.50 m')
    p.eval("mscada.send('set', 'Level', 99)")
    h.wait_until(lambda: 'set Level refused' in www.log(),
                 'the server to refuse 99', timeout=30)
    check_eq(p.text(card('Level')), '4.50 m', 'refused set not shown')
    check_eq(bus_value(c, 'Level'), 4.5, 'bus value after a refused set')
    # back button
    p.click('nav .sub a')
    p.wait("document.querySelector('main').dataset.page === 'Trend'",
           'the Trend page')
    p.eval('history.back()')
    p.wait("document.querySelector('main').dataset.page === 'All'",
           'back to All')
    p.close()


def test_setpoint_dialog():
    need_browser()
    bus, _, www, c = setup()
    lid = c.id('Level')
    c.set_value(lid, 3.0, h.FLOAT)
    c.set_value(c.id('Mode'), 0, h.INT)
    c.sync()
    p = Page('http://127.0.0.1:%d/#/All' % www.port)
    p.wait("document.querySelector(%s)?.textContent === '3.00 m'"
           % json.dumps(card('Level', 'setpoint')), 'Level 3.00 m')
    p.click('main .card.setpoint[data-tag="Level"]')
    p.wait("document.activeElement?.tagName === 'INPUT'", 'dialog input')
    check(p.eval("document.querySelector('dialog .hint').textContent")
          .startswith('0 to 10 m'), 'limits from tag_info')
    check_eq(p.eval("document.querySelector('dialog input')"
                    ".getAttribute('inputmode')"), 'decimal', 'keypad')
    p.eval("document.querySelector('dialog input').select()")
    p.type('11')
    p.key('Enter')
    err = p.wait("document.querySelector('dialog .error').textContent",
                 'the refusal')
    check('above the maximum 10 m' in err, 'error %r', err)
    check_eq(p.eval("document.querySelector('dialog').dataset.step"), 'edit',
             'no confirm step for 11')
    p.eval("document.querySelector('dialog input').select()")
    p.type('7.25')
    p.key('Enter')
    p.wait("document.querySelector('dialog')?.dataset.step === 'confirm'",
           'the confirm step')
    check_eq(p.text('dialog .confirm'), '3.00 m → 7.25 m', 'old -> new')
    check_eq(bus_value(c, 'Level'), 3.0, 'nothing sent before confirm')
    p.key('Enter')
    h.wait_until(lambda: bus_value(c, 'Level') == 7.25, 'Level 7.25 on the '
                 'bus')
    p.wait("!document.querySelector('dialog')", 'the dialog closed')
    p.wait("document.querySelector(%s).textContent === '7.25 m'"
           % json.dumps(card('Level', 'setpoint')), 'Level 7.25 shown')
    # Escape cancels
    p.click('main .card.setpoint[data-tag="Level"]')
    p.wait("!!document.querySelector('dialog[open]')", 'dialog')
    p.key('Escape')
    p.wait("!document.querySelector('dialog')", 'closed by Escape')
    # a multi tag: its state names
    p.click('main .card.setpoint[data-tag="Mode"]')
    names = p.wait("[...document.querySelectorAll('dialog .state')]"
                   ".map(b => b.textContent)", 'states')
    check_eq(names, ['Off', 'Manual', 'Auto'], 'state names')
    p.click('dialog .state:nth-child(2)')
    p.wait("document.querySelector('dialog')?.dataset.step === 'confirm'",
           'confirm')
    check_eq(p.text('dialog .confirm'), 'Off → Manual', 'old -> new')
    p.click('dialog .dlg-foot .primary')
    h.wait_until(lambda: bus_value(c, 'Mode') == 1, 'Mode 1 on the bus')
    p.wait("document.querySelector(%s).textContent === 'Manual'"
           % json.dumps(card('Mode')), 'Manual shown')
    p.close()


def test_selectdict_change():
    need_browser()
    bus, _, www, c = setup()
    sid = c.id('Sched')
    c.set_value(sid, {'labels': ['Mon', 'Tue', 'Wed'], 'values': [0, 1, 0],
                      'locks': [0, 0, 1]}, h.JSON)
    c.sync()
    p = Page('http://127.0.0.1:%d/#/All' % www.port)
    p.wait("document.querySelectorAll('.selectdict .cell').length === 3",
           'three cells')
    p.click('.selectdict .cell:nth-child(1)')
    p.click('.selectdict .row .primary')
    p.wait("document.querySelectorAll('dialog .state').length === 2",
           'the On/Off dialog')
    p.click('dialog .state:nth-child(2)')
    p.wait("document.querySelector('dialog')?.dataset.step === 'confirm'",
           'confirm')
    p.click('dialog .dlg-foot .primary')
    h.wait_until(lambda: bus_value(c, 'Sched')['values'] == [1, 1, 0],
                 'the schedule on the bus')
    p.wait("document.querySelector('.selectdict .cell .val').textContent "
           "=== 'On'", 'Mon shown On')
    p.close()


def trend_times(p):
    return p.eval('mscadaTrends[0].u.data[0]') or []


def contrast(a, b):
    """WCAG 2.x contrast ratio of two [r, g, b] (0..255)."""
    def lum(c):
        v = [x / 255 for x in c[:3]]
        v = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4
             for x in v]
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]
    la, lb = lum(a), lum(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def line_pixel(p, t, v, scale):
    """What a person sees of trend 0's line through (t, v): the pixels of
    the canvas column at t within 6 px of v, each over the trend card's
    background, and the one that stands out most; and that background."""
    got = p.eval('''(() => {
        const tr = mscadaTrends[0], u = tr.u;
        const x = Math.round(u.valToPos(%r, 'x', true));
        const y = Math.round(u.valToPos(%r, %s, true));
        return {px: [...u.ctx.getImageData(x, y - 6, 1, 13).data],
                bg: getComputedStyle(tr.box).backgroundColor};
    })()''' % (t, v, json.dumps(scale)))
    bg = [int(x) for x in got['bg'][got['bg'].index('(') + 1:-1]
          .split(',')[:3]]
    px = got['px']
    seen = []
    for i in range(0, len(px), 4):
        a = px[i + 3] / 255
        seen.append([round(px[i + k] * a + bg[k] * (1 - a))
                     for k in range(3)])
    return max(seen, key=lambda c: contrast(c, bg)), bg


def test_trend_history_live_and_zoom_out():
    need_browser()
    bus, hist, www, c = setup(history=True)
    lid = c.id('Level')
    now = h.now_us()
    past = [(now - 120 * 60 * 1000000, 1.0), (now - 50 * 60 * 1000000, 2.0),
            (now - 40 * 60 * 1000000, 4.0), (now - 30 * 60 * 1000000, 6.0)]
    for t, v in past:
        c.set_value(lid, v, h.FLOAT, time_us=t)
    c.sync()
    p = Page('http://127.0.0.1:%d/#/Trend' % www.port)
    p.wait("window.mscadaTrends && mscadaTrends.length === 1", 'the trend')

    def has(t_us, v):
        return p.eval('(u => u.data[0].some((x, i) => Math.abs(x - %f) < '
                      '1e-3 && u.data[1][i] === %r))(mscadaTrends[0].u)'
                      % (t_us / 1e6, v))
    for t, v in past[1:]:
        h.wait_until(lambda: has(t, v), 'history record %r in the trend' % v,
                     timeout=30)
    check(not has(*past[0]), 'a record older than the window was not asked')
    t_live = c.set_value(lid, 8.5, h.FLOAT)
    h.wait_until(lambda: has(t_live, 8.5), 'the live point in the trend',
                 timeout=30)
    # the legend shows the latest values while the cursor is off the plot
    legend = ("[...document.querySelectorAll('.trend .u-legend .u-series')]"
              ".map(r => r.textContent)")
    h.wait_until(lambda: any(r.startswith('Level8.5')
                             for r in p.eval(legend)),
                 'the latest value 8.5 in the legend without hovering',
                 timeout=30)
    # the line between the 4.0 and 6.0 records: its configured blue where
    # that contrasts with the light card
    mid = (past[2][0] + past[3][0]) / 2e6
    p.frames()
    seen, bg = line_pixel(p, mid, 5.0, 'm')
    check(all(abs(a - b) <= 8 for a, b in zip(seen, [0, 0, 255])),
          'the light theme draws the configured blue: %r on %r', seen, bg)
    # the system switching to dark recolours the axes without a reload
    axis = "mscadaTrends[0].u.axes[0].stroke(mscadaTrends[0].u, 0)"
    light = p.eval(axis)
    p.call('Emulation.setEmulatedMedia', features=[
        {'name': 'prefers-color-scheme', 'value': 'dark'}])
    p.wait("%s === getComputedStyle(document.documentElement)"
           ".getPropertyValue('--fg').trim() && %s !== %s"
           % (axis, axis, json.dumps(light)), 'dark axis colours')
    # ... and the lines: blue on the dark card (1.8:1) turns lighter, to
    # the 3:1 a 2 px line needs; the legend's marker follows
    box = {}

    def dark_line():
        box['seen'], box['bg'] = line_pixel(p, mid, 5.0, 'm')
        return box['bg'] != bg and contrast(box['seen'], box['bg']) >= 3
    try:
        h.wait_until(dark_line, "the dark theme's line", timeout=30)
    except AssertionError:
        check(False, 'the dark theme draws the line %r on %r: %.2f:1, not '
              'the 3:1 a 2 px line needs', box['seen'], box['bg'],
              contrast(box['seen'], box['bg']))
    marker = p.eval("getComputedStyle(document.querySelectorAll("
                    "'.trend .u-legend .u-series')[1].querySelector("
                    "'.u-marker')).borderTopColor")
    marker = [int(x) for x in marker[marker.index('(') + 1:-1].split(',')]
    check(contrast(marker, box['bg']) >= 3, 'the legend marker %r on %r',
          marker, box['bg'])
    asked = int(p.eval("mscadaTrends[0].box.dataset.asked"))
    # zoom out with the mouse wheel over the plot
    r = p.eval("(r => [r.left + r.width / 2, r.top + r.height / 2])"
               "(mscadaTrends[0].u.over.getBoundingClientRect())")
    for _ in range(6):
        p.call('Input.dispatchMouseEvent', type='mouseWheel', x=r[0],
               y=r[1], deltaX=0, deltaY=120)
    p.wait("mscadaTrends[0].view.min < Date.now() / 1000 - 7300",
           'the window zoomed out past 2 h ago')
    h.wait_until(lambda: int(p.eval("mscadaTrends[0].box.dataset.asked"))
                 > asked, 'history asked again')
    h.wait_until(lambda: has(*past[0]), 'the 2 h old record after zooming '
                 'out', timeout=30)
    # CSV of what is shown
    csv = p.eval("(t => { const u = t.u; return u.data[0].length })"
                 "(mscadaTrends[0])")
    check(csv >= 5, 'points shown %r', csv)
    p.close()


def test_restarts_resume_without_reload():
    need_browser()
    bus, _, www, c = setup()  # both restarted on the ports they got
    c.set_value(c.id('Level'), 1.0, h.FLOAT)
    c.sync()
    p = Page('http://127.0.0.1:%d/#/All' % www.port)
    lv = json.dumps(card('Level'))
    p.wait("document.querySelector(%s)?.textContent === '1.00 m'" % lv,
           'Level 1.00')
    p.eval('window.__noReload = 42')
    check_eq(www.stop(), 0, 'wwwserver stopped')
    p.wait("!document.querySelector('.banner').hidden && "
           "document.querySelector('.banner').textContent"
           ".includes('No connection')", 'the banner')
    p.wait("document.querySelector('main .card.value[data-tag=\"Level\"]')"
           ".classList.contains('stale')", 'stale grey')
    www.start()
    c.set_value(c.id('Level'), 2.0, h.FLOAT)
    p.wait("document.querySelector(%s).textContent === '2.00 m'" % lv,
           'Level 2.00 after the wwwserver restart', timeout=60)
    check_eq(p.eval('window.__noReload'), 42, 'no reload')
    p.wait("document.querySelector('.banner').hidden", 'banner gone')
    check(not p.eval("document.querySelector('main .card.value"
                     "[data-tag=\"Level\"]').classList.contains('stale')"),
          'fresh again')
    c.close()
    bus.stop()
    p.wait("document.querySelector('.banner').textContent"
           ".includes('lost the bus')", 'the bus banner')
    p.wait("document.querySelector('main .card.value[data-tag=\"Level\"]')"
           ".classList.contains('stale')", 'stale on bus loss')
    bus.start()
    c = bus.client()
    h.wait_until(lambda: 'connected' in www.log()[-400:], 'www back on bus')
    lid = c.id('Level')

    def shown():
        c.set_value(lid, 3.0, h.FLOAT)
        return p.eval("document.querySelector(%s).textContent" % lv) == \
            '3.00 m'
    h.wait_until(shown, 'Level 3.00 after the bus restart', interval=0.5)
    check_eq(p.eval('window.__noReload'), 42, 'no reload')
    p.wait("document.querySelector('.banner').hidden", 'banner gone')
    p.close()


def test_phone_layout_no_horizontal_scroll():
    need_browser()
    bus, _, www, c = setup()
    c.set_value(c.id('Level'), 5.0, h.FLOAT)
    c.sync()
    for page in ('All', 'Trend'):
        p = Page('http://127.0.0.1:%d/#/%s' % (www.port, page), phone=True)
        p.wait("document.querySelector('main').dataset.page === %s"
               % json.dumps(page), page)
        if page == 'Trend':
            p.wait("window.mscadaTrends && mscadaTrends.length", 'trend')
        widths = p.eval('[document.documentElement.scrollWidth, innerWidth]')
        check(widths[0] <= widths[1], '%s: page %d px wide in a %d px '
              'viewport', page, widths[0], widths[1])
        check(p.eval("getComputedStyle(document.querySelector('.menubtn'))"
                     ".display !== 'none'"), 'the menu button on a phone')
        p.close()


def test_demo_screenshots():
    need_browser()
    from test_demo import Demo
    d = Demo()
    d.wait_up()
    try:
        url = 'http://127.0.0.1:%d/' % d.www_port
        for phone, dark, suffix in ((False, False, 'desktop'),
                                    (True, False, 'phone'),
                                    (False, True, 'dark')):
            p = Page(url + '#/Overview', phone=phone, dark=dark)
            p.wait("document.querySelector('main .card.value[data-tag="
                   "\"TankLevel\"] .val')?.textContent.match(/\\d/) && "
                   "document.querySelector('main .card.setpoint .val')"
                   "?.textContent.match(/Off|Manual|Auto/)", 'the overview')
            check_eq(p.eval("matchMedia('(prefers-color-scheme: dark)')"
                            ".matches"), dark, 'the emulated colour scheme')
            p.shot('hmi-%s.png' % suffix)
            p.eval("location.hash = '#/Trend'")
            p.wait("window.mscadaTrends?.length && "
                   "(d => d.length && d[d.length - 1] - d[0] > 40)"
                   "(mscadaTrends[0].tags[0].series.t)", '40 s of trend',
                   timeout=120)
            # the demo has only just started: show its last minutes
            p.eval('mscadaTrends[0].setRange(Date.now() / 1000 - 60, '
                   'Date.now() / 1000 + 5)')
            p.frames()
            p.shot('hmi-%s-trend.png' % suffix)
            p.close()
    finally:
        h.stop_pid(d.proc, grace=60)


if __name__ == '__main__':
    h.main(globals())
