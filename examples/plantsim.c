/* plantsim: the plant behind `make demo` (docs/demo.md). A tank fills with
 * a varying inflow and a pump empties it; in Auto the pump starts above a
 * high level and stops below a low one (hysteresis), Off stops it, Manual
 * runs it. It plays the PLC's logic: every period it publishes the "PLC
 * side" tags, which modbusserver turns into registers, and it follows the
 * mode that a Modbus master writes into the mode register.
 *
 *   plantsim [--bus HOST:PORT] [--period S] [-v]
 *
 * Tags: sim_Level (FLOAT, m), sim_Flow (FLOAT, m3/h in), sim_PumpRunning
 * (INT 0/1), sim_PumpStarts (INT; counts on from the bus's value), and
 * sim_PumpMode (INT 0 Off, 1 Manual, 2 Auto; read, set to Auto when the
 * bus has no value). Survives bus restarts (the client library reconnects
 * and re-publishes); SIGINT or SIGTERM exits 0. */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "mscada/client.h"
#include "mscada/error.h"
#include "mscada/log.h"
#include "mscada/mstime.h"
#include "mscada/tag.h"
#include "mscada/tagdesc.h"

/* The plant: a 1 m2 standpipe so that a fill or a drain takes about a
 * minute, which is what a demo wants to watch. */
#define TANK_AREA_M2 1.0
#define TANK_HEIGHT_M 10.0
#define LEVEL_START_M 5.0
#define LEVEL_HIGH_M 8.0 /* Auto: start the pump above this */
#define LEVEL_LOW_M 2.0  /* Auto: stop it below this */
#define INFLOW_MEAN 300.0 /* m3/h */
#define INFLOW_SWING 100.0
#define INFLOW_PERIOD_S 60.0
#define PUMP_FLOW 800.0 /* m3/h when running */

enum { MODE_OFF = 0, MODE_MANUAL = 1, MODE_AUTO = 2 };
static const char *const mode_names[] = {"Off", "Manual", "Auto"};

typedef struct {
    double level; /* m */
    double inflow; /* m3/h */
    bool running;
    int64_t starts;
    double t; /* seconds simulated */
} plant;

/* Whether the pump should run now: the mode decides, Auto by hysteresis.
 * An unknown mode is treated as Off (the safe state). */
static bool pump_wanted(const plant *p, int64_t mode)
{
    switch (mode) {
    case MODE_MANUAL:
        return true;
    case MODE_AUTO:
        if (p->level >= LEVEL_HIGH_M)
            return true;
        if (p->level <= LEVEL_LOW_M)
            return false;
        return p->running; /* between the two: keep what it does */
    default:
        return false;
    }
}

/* Advances the plant by dt seconds under mode. */
static void plant_step(plant *p, double dt, int64_t mode)
{
    p->t += dt;
    p->inflow = INFLOW_MEAN +
                INFLOW_SWING * sin(2 * M_PI * p->t / INFLOW_PERIOD_S);
    bool run = pump_wanted(p, mode);
    if (run && !p->running)
        p->starts++;
    p->running = run;
    double out = run ? PUMP_FLOW : 0;
    if (p->level <= 0 && out > p->inflow)
        out = p->inflow; /* a dry sump: it pumps what comes in */
    p->level += (p->inflow - out) / 3600.0 * dt / TANK_AREA_M2;
    if (p->level < 0)
        p->level = 0;
    if (p->level > TANK_HEIGHT_M)
        p->level = TANK_HEIGHT_M; /* overflowing */
}

/* ---- on the bus ------------------------------------------------------- */

typedef struct {
    ms_client *c;
    ms_tag *level, *flow, *running, *starts, *mode;
    plant p;
    uint64_t last_ns;
    int64_t last_mode;
    bool started_seen; /* starts taken over from the bus once */
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
} sim;

static int64_t read_mode(sim *s)
{
    int64_t m;
    if (ms_tag_get_int(s->mode, &m) < 0)
        m = MODE_AUTO; /* until the bus answers */
    if (m != s->last_mode) {
        if (m >= 0 && m <= 2)
            ms_log_info("pump mode %s", mode_names[m]);
        else
            ms_log_warn("pump mode %" PRId64 " is no mode: pump Off", m);
        s->last_mode = m;
    }
    return m;
}

/* v rounded to 1/per: divided, not multiplied by a step, so that 6.1
 * comes out as the double nearest 6.1. */
static double round_to(double v, double per)
{
    return round(v * per) / per;
}

static void on_tick(uv_timer_t *t)
{
    sim *s = t->data;
    uint64_t now = ms_time_mono_ns();
    double dt = (double)(now - s->last_ns) / 1e9;
    s->last_ns = now;
    if (dt > 5.0)
        dt = 5.0; /* after a stall (a stopped process), no huge jump */
    /* Count on from what the bus kept (its snapshot) the first time. */
    int64_t bus_starts;
    if (!s->started_seen && ms_tag_get_int(s->starts, &bus_starts) == 0) {
        s->p.starts = bus_starts;
        s->started_seen = true;
    }
    bool was = s->p.running;
    plant_step(&s->p, dt, read_mode(s));
    if (s->p.running != was)
        ms_log_info("pump %s at %.2f m", s->p.running ? "started" : "stopped",
                    s->p.level);
    /* A PLC publishes its values whether or not they changed; the INTs
     * only on a change so that watchers see one line per event. */
    ms_tag_set_float(s->level, round_to(s->p.level, 1000)); /* mm */
    ms_tag_set_float(s->flow, round_to(s->p.inflow, 10));
    int64_t v;
    if (ms_tag_get_int(s->running, &v) < 0 || v != (s->p.running ? 1 : 0))
        ms_tag_set_int(s->running, s->p.running ? 1 : 0);
    if (ms_tag_get_int(s->starts, &v) < 0 || v != s->p.starts)
        ms_tag_set_int(s->starts, s->p.starts);
}

static void on_signal(uv_signal_t *h, int signum)
{
    sim *s = h->data;
    ms_log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_timer_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    ms_client_close(s->c);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: plantsim [--bus HOST:PORT] [--period S] [-v]\n\n"
            "Simulates a tank and its pump for the demo (docs/demo.md) and\n"
            "publishes sim_Level, sim_Flow, sim_PumpRunning, sim_PumpStarts\n"
            "every period; follows sim_PumpMode (0 Off, 1 Manual, 2 Auto).\n\n"
            "Options:\n"
            "  --bus HOST:PORT  the bus (default 127.0.0.1:1324)\n"
            "  --period S       seconds between updates (default 0.2)\n"
            "  -v, --verbose    log debug detail to stderr\n"
            "  -h, --help       this text\n");
}

/* The value of `--opt V` or `--opt=V`, or NULL. */
static const char *opt_value(const char *opt, int argc, char **argv, int *i)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int main(int argc, char **argv)
{
    ms_client_config cfg;
    ms_client_config_init(&cfg);
    snprintf(cfg.name, sizeof cfg.name, "plantsim");
    double period = 0.2;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        char *end;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            verbose = true;
        } else if ((v = opt_value("--bus", argc, argv, &i))) {
            if (ms_client_config_set_bus(&cfg, v) < 0) {
                fprintf(stderr, "plantsim: --bus wants HOST:PORT\n");
                return 2;
            }
        } else if ((v = opt_value("--period", argc, argv, &i))) {
            period = strtod(v, &end);
            if (*end || !(period >= 0.01 && period <= 60)) {
                fprintf(stderr, "plantsim: --period wants 0.01 to 60 s\n");
                return 2;
            }
        } else {
            fprintf(stderr, "plantsim: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    ms_log_setup("plantsim", verbose ? MS_LOG_DEBUG : MS_LOG_INFO);

    /* A description only to give sim_PumpMode an init value: the library
     * publishes Auto when the bus has no mode yet (a fresh bus), and
     * leaves alone a mode the bus kept. */
    ms_tagdesc mode_desc = {.name = "sim_PumpMode", .desc = "",
                            .type = MS_TYPE_INT, .dp = -1, .has_init = true,
                            .init = ms_value_int(MODE_AUTO)};
    ms_tagdescs descs = {.tags = &mode_desc, .n = 1};
    cfg.tagdescs = &descs;
    cfg.use_init = true;

    uv_loop_t *loop = uv_default_loop();
    sim s = {.last_mode = -1,
             .p = {.level = LEVEL_START_M, .inflow = INFLOW_MEAN}};
    int rc = ms_client_new(loop, &cfg, &s.c);
    if (rc < 0) {
        fprintf(stderr, "plantsim: bus %s:%d: %s\n", cfg.host,
                cfg.port, ms_strerror(rc));
        return 2;
    }
    struct {
        const char *name;
        ms_type type;
        ms_tag **tag;
    } tags[] = {{"sim_Level", MS_TYPE_FLOAT, &s.level},
                {"sim_Flow", MS_TYPE_FLOAT, &s.flow},
                {"sim_PumpRunning", MS_TYPE_INT, &s.running},
                {"sim_PumpStarts", MS_TYPE_INT, &s.starts},
                {"sim_PumpMode", MS_TYPE_INT, &s.mode}};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        rc = ms_tag_new(s.c, tags[i].name, tags[i].type, tags[i].tag);
        if (rc < 0) {
            fprintf(stderr, "plantsim: tag %s: %s\n", tags[i].name,
                    ms_strerror(rc));
            ms_client_close(s.c);
            uv_run(loop, UV_RUN_DEFAULT);
            return 1;
        }
    }
    uv_timer_init(loop, &s.tick);
    uv_signal_init(loop, &s.sigint);
    uv_signal_init(loop, &s.sigterm);
    s.tick.data = s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    s.last_ns = ms_time_mono_ns();
    uint64_t ms = (uint64_t)(period * 1000 + 0.5);
    uv_timer_start(&s.tick, on_tick, 0, ms); /* the first values at once */
    ms_log_info("simulating the tank every %gs (Auto: pump on above %g m, "
                "off below %g m)", period, LEVEL_HIGH_M, LEVEL_LOW_M);
    uv_run(loop, UV_RUN_DEFAULT); /* until a signal */
    uv_loop_close(loop);
    ms_log_info("stopped");
    return 0;
}
