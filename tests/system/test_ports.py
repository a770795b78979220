"""The harness's one start path for servers (mshelp.serve()) against a
port taken between the moment it was picked and the server's bind, as
when two tests run at once (ctest -j2) pick the same free port: the port
free_port() hands out first is held here by a listening socket, and the
server must still come up, on another port, with the test's client
talking to it and not to the holder."""

import os
import shutil
import socket
import struct

import mshelp as h
from mshelp import Bus, check, check_eq


class TakenFirst:
    """h.free_port() patched: its first answer a port held by a listening
    socket (self.sock), then the real ones."""

    def __enter__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.real = h.free_port
        self.handed = []

        def patched(*a, **kw):
            p = self.port if not self.handed else self.real(*a, **kw)
            self.handed.append(p)
            return p
        h.free_port = patched
        return self

    def untouched(self):
        """Nobody connected to the holder: the client talked to the
        server."""
        self.sock.setblocking(False)
        try:
            conn, peer = self.sock.accept()
        except BlockingIOError:
            return True
        conn.close()
        return False

    def __exit__(self, *exc):
        h.free_port = self.real
        self.sock.close()


def modbus(port, pdu):
    """One Modbus/TCP request (unit 1): the answer's PDU."""
    with socket.create_connection(('127.0.0.1', port),
                                  timeout=h.TIMEOUT) as s:
        s.sendall(struct.pack('>HHHB', 9, 0, len(pdu) + 1, 1) + pdu)
        head = b''
        while len(head) < 7:
            b = s.recv(7 - len(head))
            check(b, 'connection closed in the MBAP header')
            head += b
        n = struct.unpack('>H', head[4:6])[0] - 1
        body = b''
        while len(body) < n:
            b = s.recv(n - len(body))
            check(b, 'connection closed in the PDU')
            body += b
        return body


def test_module_serve_moves_off_a_taken_port():
    """modbusserver through Module.serve()'s free-port path: its first
    port is taken, it exits saying so, and it is started again on
    another one, which the test's Modbus client then reads and writes."""
    config = ('bus_ip:\nrtus:\n- name: MEM\n  ip: 127.0.0.1\n  port: %d\n'
              '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n')
    with TakenFirst() as taken:
        srv = h.Module('modbusserver', lambda port: config % port,
                       start=False)
        srv.serve('serving Modbus/TCP on 127.0.0.1:{port}', port=None)
        check_eq(taken.handed[0], taken.port, 'the first port handed out')
        check(srv.port not in (0, taken.port), 'served on %r', srv.port)
        check_eq(srv.port, taken.handed[-1], 'the port it serves on')
        check('cannot listen on 127.0.0.1:%d' % taken.port in srv.log() and
              'in use' in srv.log(), 'the first start did not hit the taken '
              'port: %s', srv.log_tail())
        check_eq(modbus(srv.port, struct.pack('>BHH', 6, 4, 4242)),
                 struct.pack('>BHH', 6, 4, 4242), 'write of register 5')
        check_eq(modbus(srv.port, struct.pack('>BHH', 3, 4, 1)),
                 struct.pack('>BBH', 3, 2, 4242), 'register 5 read back')
        check(taken.untouched(), 'the client reached the port holder')
        # a restart is on the port it got
        check_eq(srv.stop(), 0, 'modbusserver exit status')
        srv.serve('serving Modbus/TCP on 127.0.0.1:{port}', port=srv.port)
        check_eq(modbus(srv.port, struct.pack('>BHH', 3, 4, 1)),
                 struct.pack('>BBH', 3, 2, 0), 'register 5 after restart')
        check_eq(srv.stop(), 0, 'modbusserver exit status')


def test_bus_start_moves_off_a_taken_port():
    """A Bus whose port is known before its start (start=False: a
    free_port()) finds it taken at the start and comes up on another;
    a client's ID round trip is answered there."""
    with TakenFirst() as taken:
        bus = Bus(start=False)
        check_eq(bus.port, taken.port, 'the port picked before the start')
        bus.start()
        check(bus.port != taken.port, 'the bus kept the taken port')
        check('in use' in bus.log(), 'the first start did not hit the '
              'taken port: %s', bus.log_tail())
        with bus.client() as c:
            check(c.id('moved') > 1, 'ID on the bus on its new port')
        check(taken.untouched(), 'the client reached the port holder')
        check_eq(bus.stop(), 0, 'bus exit status')


def test_hand_started_server_moves_off_a_taken_port():
    """serve() for a process started by hand (no port 0: the server's
    line names the port it was given): started again on another port."""
    if not shutil.which('socat'):
        h.skip('socat missing: run scripts/deps.sh')
    d = h.tmpdir('mscada-ports-')
    log = os.path.join(d, 'socat.log')

    def start(port):
        mark = h.log_size(log)
        return h.spawn(['socat', '-d', '-d', 'TCP-LISTEN:%d,bind=127.0.0.1,'
                        'reuseaddr' % port, 'SYSTEM:echo served'],
                       log), log, mark
    with TakenFirst() as taken:
        proc, port = h.serve(start, 'listening on AF=2 127.0.0.1:{port}',
                             port=None, what='socat')
        check(port != taken.port, 'socat kept the taken port')
        check('in use' in h.read_log(log), 'the first start did not hit '
              'the taken port: %s', h.read_log(log))
        with socket.create_connection(('127.0.0.1', port),
                                      timeout=h.TIMEOUT) as s:
            got = b''
            while not got.endswith(b'\n'):
                b = s.recv(100)
                check(b, 'closed after %r', got)
                got += b
        check_eq(got, b'served\n', 'what the server on the new port said')
        check(taken.untouched(), 'the client reached the port holder')
        h.stop_pid(proc)


def test_port_zero_is_named():
    """A server told port 0 (the default of Module.serve()) serves on the
    port its line names."""
    srv = h.Module('modbusserver', lambda port: (
        'bus_ip:\nrtus:\n- name: MEM\n  ip: 127.0.0.1\n  port: %d\n'
        '  serve:\n  - {unit: 1, file: 4x, start: 1, end: 10}\n' % port),
        start=False).serve('serving Modbus/TCP on 127.0.0.1:{port}')
    check(srv.port > 0, 'port %r', srv.port)
    check_eq(modbus(srv.port, struct.pack('>BHH', 3, 0, 1)),
             struct.pack('>BBH', 3, 2, 0), 'register 1 read')
    check_eq(srv.stop(), 0, 'modbusserver exit status')


if __name__ == '__main__':
    h.main(globals())
