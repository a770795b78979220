"""`mscada wwwserver` over HTTP: MIME types, Cache-Control (no-cache for
/ and index.html and plain names, immutable only for hashed asset names),
ETag and 304, gzip when accepted (and only then), 404 for a missing file,
403 for a folder and for a deep path with no serve_path, serve_path and
the 2024 `paths:` form, the built-in page without get_path, HEAD, and
every way out of a root refused: .., %2e%2e, encoded slashes, symlinks
out, absolute paths, NUL."""

import gzip
import http.client
import os

import mshelp as h
import wwwhelp as w
from mshelp import Bus, check, check_eq

SECRET = b'the secret outside every root\n'


def site():
    """get_path with an app, serve_path with downloads, and outside both a
    secret that symlinks point at."""
    d = h.tmpdir('mscada-site-')
    app = os.path.join(d, 'app')
    files = os.path.join(d, 'files')
    os.makedirs(os.path.join(app, 'assets'))
    os.makedirs(os.path.join(files, 'yaml'))
    with open(os.path.join(d, 'secret.txt'), 'wb') as f:
        f.write(SECRET)
    content = {
        'index.html': b'<!doctype html><title>app</title>' + b' ' * 600,
        'main.6ccdb8d47378f064.js': b'console.log(1);' * 100,
        'styles.css': b'body{}' * 100,
        'app.json': b'{"a": 1}',
        'logo.svg': b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        'icon.png': b'\x89PNG....',
        'mod.mjs': b'export {}',
        'x.wasm': b'\0asm',
        'data.unknownext': b'??',
        'assets/chunk-5TQ2Y4DL.js': b'var a;' * 100,
    }
    for name, data in content.items():
        with open(os.path.join(app, name), 'wb') as f:
            f.write(data)
    os.symlink(os.path.join(d, 'secret.txt'), os.path.join(app, 'link.txt'))
    os.symlink(d, os.path.join(app, 'up'))
    with open(os.path.join(files, 'yaml', 'tags.yaml'), 'wb') as f:
        f.write(b'a: 1\n')
    return d, app, files, content


def get(port, path, headers=None, method='GET'):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=h.TIMEOUT)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_types_cache_etag_gzip():
    bus = Bus()
    d, app, files, content = site()
    www = w.Www(bus.port, get_path=app, serve_path=files)
    p = www.port
    mimes = {'/': 'text/html', '/index.html': 'text/html',
             '/main.6ccdb8d47378f064.js': 'text/javascript',
             '/styles.css': 'text/css', '/app.json': 'application/json',
             '/logo.svg': 'image/svg+xml', '/icon.png': 'image/png',
             '/mod.mjs': 'text/javascript', '/x.wasm': 'application/wasm',
             '/data.unknownext': 'application/octet-stream',
             '/assets/chunk-5TQ2Y4DL.js': 'text/javascript',
             '/yaml/tags.yaml': 'text/plain'}
    for path, mime in mimes.items():
        st, hd, body = get(p, path)
        check_eq(st, 200, 'status of ' + path)
        check(hd['content-type'].startswith(mime), '%s: %s', path,
              hd['content-type'])
        name = 'index.html' if path == '/' else path[1:]
        want = content.get(name)
        if want is not None:
            check_eq(body, want, 'body of ' + path)
    immutable = 'public,max-age=31536000,immutable'
    for path, cc in (('/', 'no-cache'), ('/index.html', 'no-cache'),
                     ('/styles.css', 'no-cache'),
                     ('/main.6ccdb8d47378f064.js', immutable),
                     ('/assets/chunk-5TQ2Y4DL.js', immutable),
                     ('/yaml/tags.yaml', 'no-cache')):
        check_eq(get(p, path)[1]['cache-control'], cc, 'cache of ' + path)
    # ETag, 304
    st, hd, _ = get(p, '/styles.css')
    etag = hd['etag']
    st, hd, body = get(p, '/styles.css', {'If-None-Match': etag})
    check_eq((st, body), (304, b''), '304 for the same ETag')
    st, _, _ = get(p, '/styles.css', {'If-None-Match': '"other"'})
    check_eq(st, 200, 'another ETag')
    # gzip only when accepted; the same bytes once unzipped
    st, hd, body = get(p, '/main.6ccdb8d47378f064.js',
                       {'Accept-Encoding': 'gzip, deflate'})
    check_eq(hd.get('content-encoding'), 'gzip', 'gzip header')
    check(len(body) < len(content['main.6ccdb8d47378f064.js']), 'smaller')
    check_eq(gzip.decompress(body), content['main.6ccdb8d47378f064.js'],
             'unzipped')
    check_eq(hd.get('vary'), 'Accept-Encoding', 'Vary')
    gz_etag = hd['etag']
    st, _, _ = get(p, '/main.6ccdb8d47378f064.js',
                   {'Accept-Encoding': 'gzip', 'If-None-Match': gz_etag})
    check_eq(st, 304, '304 for the gzip form')
    st, hd, body = get(p, '/main.6ccdb8d47378f064.js',
                       {'Accept-Encoding': 'gzip;q=0'})
    check('content-encoding' not in hd, 'q=0 refuses gzip')
    st, hd, body = get(p, '/icon.png', {'Accept-Encoding': 'gzip'})
    check('content-encoding' not in hd, 'png not zipped')
    # HEAD: headers, no body
    st, hd, body = get(p, '/styles.css', method='HEAD')
    check_eq((st, body, hd['content-length']), (200, b'', '600'), 'HEAD')
    # keep-alive: three requests on one connection
    c = http.client.HTTPConnection('127.0.0.1', p, timeout=h.TIMEOUT)
    for path, want in (('/app.json', 200), ('/nope', 404), ('/', 200)):
        c.request('GET', path)
        r = c.getresponse()
        r.read()
        check_eq(r.status, want, 'keep-alive ' + path)
    c.close()


def test_errors_and_traversal():
    bus = Bus()
    d, app, files, content = site()
    www = w.Www(bus.port, get_path=app, serve_path=files)
    p = www.port
    check_eq(get(p, '/missing.js')[0], 404, 'missing file (pymscada: 500)')
    check_eq(get(p, '/yaml/none.yaml')[0], 404, 'missing deep file')
    check_eq(get(p, '/assets')[0], 403, 'a folder')
    check_eq(get(p, '/yaml')[0], 403, 'a serve_path folder')
    check_eq(get(p, '/yaml/')[0], 403, 'a folder with a slash')
    attempts = ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt',
                '/%2e%2e%2fsecret.txt', '/assets/../../secret.txt',
                '/link.txt', '/up/secret.txt', '//' + d + '/secret.txt',
                '/' + d + '/secret.txt', '/secret.txt%00.js',
                '/index.html%00', '/..\\secret.txt', '/%5c..%5csecret.txt',
                '/yaml/../../secret.txt', '/./../secret.txt']
    for a in attempts:
        try:
            st, hd, body = get(p, a)
        except http.client.RemoteDisconnected:
            continue  # libwebsockets' URI parser refused it: nothing sent
        check(st in (400, 403, 404), '%s: status %d', a, st)
        check(SECRET not in body, '%s: the secret leaked', a)
    check(www.proc.poll() is None, 'alive')


def test_paths_form_and_no_serve_path():
    bus = Bus()
    d, app, files, content = site()
    # 2024 form: folders (relative to where the server runs) listed
    www = w.Www(bus.port, get_path=app,
                yaml_extra='paths: [pdf, history]\n')
    # the server's cwd is its own dir: the listed folder is there
    os.makedirs(os.path.join(www.dir, 'pdf'))
    with open(os.path.join(www.dir, 'pdf', 'a.pdf'), 'wb') as f:
        f.write(b'%PDF-1.4')
    os.symlink(os.path.join(d, 'secret.txt'),
               os.path.join(www.dir, 'pdf', 'out.txt'))
    st, hd, body = get(www.port, '/pdf/out.txt')
    check(st == 403 and SECRET not in body, 'symlink out of a listed folder')
    st, hd, body = get(www.port, '/pdf/a.pdf')
    check_eq((st, body), (200, b'%PDF-1.4'), 'a file in a listed folder')
    check(hd['content-type'].startswith('application/pdf'), 'pdf type')
    check_eq(get(www.port, '/files/yaml/tags.yaml')[0], 403, 'unlisted')
    www.stop()
    www = w.Www(bus.port, get_path=app)
    check_eq(get(www.port, '/yaml/tags.yaml')[0], 403,
             'deep path without serve_path or paths')


def test_builtin_page():
    bus = Bus()
    www = w.Www(bus.port, env={'MSCADA_WWW_APP': ''})
    st, hd, body = get(www.port, '/')
    check_eq(st, 200, 'status')
    check(b'not installed yet' in body and b'get_path' in body, 'page')
    check_eq(hd['cache-control'], 'no-cache', 'cache')
    check_eq(get(www.port, '/main.js')[0], 404, 'nothing else')


if __name__ == '__main__':
    h.main(globals())
