"""Logins in a real browser (docs/security.md): headless Chromium over
the DevTools protocol against `mscada wwwserver` with `users:` serving
mscada's browser app. The app's URL gives the login page; an operator
logs in, sees the bus's value, sets a setpoint through the dialog (the
bus gets it); logs out; a viewer logs in, finds the setpoint read-only,
and a set sent anyway is refused by the server with a visible message
(the bus keeps its value); logging out leaves no way back in without
logging in. Skips, saying why, without chromium, python3-websocket or the
built app."""

import json
import os
import shutil

import authhelp as a
import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq
from test_hmi import Page, app_dir, card, need_browser

TAGS = """\
North_Set: {desc: North gate, type: float, min: 0, max: 100}
"""

PAGES = """\
pages:
- name: North
  items:
  - {type: setpoint, tagname: North_Set}
"""


def log_in(p, name):
    p.wait("location.pathname === '/login' && "
           "!!document.getElementById('password')", 'the login page')
    p.eval("document.getElementById('name').value = %s; "
           "document.getElementById('password').value = %s; "
           "document.querySelector('form').submit(); true"
           % (json.dumps(name), json.dumps(a.PASSWORDS[name])))
    p.wait("location.pathname === '/' && "
           "document.getElementById('logout')?.textContent.startsWith(%s)"
           % json.dumps(name), name + ' logged in')


def test_login_set_refused_logout():
    need_browser()
    bus = Bus()
    www = w.Www(bus.port, tags=TAGS, start=False,
                env={'MSCADA_WWW_APP': app_dir()})
    shutil.copy(a.users_file(h.tmpdir('mscada-users-')),
                os.path.join(www.dir, 'users.yaml'))
    www.yaml_extra = PAGES + 'users: users.yaml\n'
    www.start()
    c = bus.client()
    nid = c.id('North_Set')
    c.set_value(nid, 10.5, h.FLOAT)
    c.sync()
    shown = "document.querySelector(%s)?.textContent === %%s" % json.dumps(
        card('North_Set', 'setpoint'))

    p = Page('http://127.0.0.1:%d/' % www.port)
    # an operator: sees the value, sets through the dialog
    log_in(p, 'op1')
    p.wait(shown % "'10.50'", 'North_Set 10.50 shown')
    p.click('main .card.setpoint[data-tag="North_Set"]')
    p.wait("document.activeElement?.tagName === 'INPUT'", 'dialog input')
    p.eval("document.querySelector('dialog input').select()")
    p.type('42')
    p.key('Enter')
    p.wait("document.querySelector('dialog')?.dataset.step === 'confirm'",
           'the confirm step')
    p.key('Enter')
    h.wait_until(lambda: c.get(nid).value()[1] == 42.0, '42 on the bus')
    p.wait(shown % "'42.00'", '42.00 shown')
    # log out: the login page again
    p.click('#logout')
    # a viewer: the setpoint is read-only and says why; a set sent anyway
    # is refused by the server, and the page shows the refusal
    log_in(p, 'viewer1')
    p.wait(shown % "'42.00'", '42.00 shown to the viewer')
    sel = json.dumps('main .card.setpoint[data-tag="North_Set"]')
    check_eq(p.eval('document.querySelector(%s).tagName' % sel), 'DIV',
             'a read-only setpoint is no button')
    check('read-only' in p.eval('document.querySelector(%s).title' % sel),
          'the setpoint says why it is read-only')
    check(p.eval("window.mscada.send('set', 'North_Set', 5)"), 'sent')
    msg = p.wait("!document.getElementById('notice').hidden && "
                 "document.getElementById('notice').textContent",
                 'the refusal shown')
    check('refused' in msg and 'viewers may not write' in msg, msg)
    check_eq(c.get(nid).value()[1], 42.0, 'the bus kept 42')
    a.wait_audit(www, lambda x: x['event'] == 'set' and
                 x['user'] == 'viewer1' and x['result'] == 'refused',
                 "the viewer's set audited")
    # log out; the app's URL leads to the login page again
    p.click('#logout')
    p.wait("location.pathname === '/login'", 'the login page after logout')
    p.call('Page.navigate', url='http://127.0.0.1:%d/' % www.port)
    p.wait("location.pathname === '/login' && "
           "!!document.getElementById('password')", 'no way back in')
    p.close()
    events = [(x['event'], x['user'], x['result']) for x in a.audit_lines(www)
              if x['event'] in ('login', 'logout')]
    check_eq(events, [('login', 'op1', 'accepted'),
                      ('logout', 'op1', 'accepted'),
                      ('login', 'viewer1', 'accepted'),
                      ('logout', 'viewer1', 'accepted')], 'logins audited')
    check_eq(www.stop(), 0, 'exit status')


if __name__ == '__main__':
    h.main(globals())
