/* mbref PORT: the reference Modbus/TCP server for bench/mbload.c, written
 * the way libmodbus' documentation shows a multi-client server: one
 * select() loop over the listener and every master, modbus_receive then
 * modbus_reply per ready socket. 200 holding registers, any unit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <unistd.h>

#include <modbus.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mbref PORT\n");
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_mapping_t *map = modbus_mapping_new(0, 0, 200, 0);
    if (!ctx || !map)
        return 1;
    for (int i = 0; i < 200; i++)
        map->tab_registers[i] = (uint16_t)i;
    int ls = modbus_tcp_listen(ctx, 64);
    if (ls < 0) {
        fprintf(stderr, "mbref: listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    fd_set all;
    FD_ZERO(&all);
    FD_SET(ls, &all);
    int maxfd = ls;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd))
                continue;
            if (fd == ls) {
                int c = modbus_tcp_accept(ctx, &ls);
                if (c >= 0 && c < FD_SETSIZE) {
                    FD_SET(c, &all);
                    if (c > maxfd)
                        maxfd = c;
                } else if (c >= 0) {
                    close(c);
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                modbus_reply(ctx, query, rc, map);
            } else if (rc < 0) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
}
