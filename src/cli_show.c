/*
 * The coordinator's documents as tables for people.  See cli_show.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_show.h"
#include "table.h"
#include "util.h"
#include "xmalloc.h"

static const char *
jstr(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool
jhas(const cJSON *o, const char *name)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, name));
}

static double
jnum(const cJSON *o, const char *name, double def)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const cJSON *
jget(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* A rate for people: three significant digits, never an exponent. */
static void
rate(double v, char *out, size_t len)
{
	snprintf(out, len, v >= 100 ? "%.0f" : "%.3g", v);
}

void
cli_show_span(int64_t ms, char *out, size_t len)
{
	int64_t	s = ms < 0 ? 0 : ms / 1000;

	if (s < 120)
		snprintf(out, len, "%llds", (long long)s);
	else if (s < 120 * 60)
		snprintf(out, len, "%lldm", (long long)(s / 60));
	else if (s < 48 * 3600)
		snprintf(out, len, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, len, "%lldd", (long long)(s / 86400));
}

/* Local date and time of ms since the epoch. */
static void
when(int64_t ms, char *out, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, len, "-");
}

/* HH:MM:SS of a media time. */
static void
clock_of(int64_t ms, char *out, size_t len)
{
	int64_t	s = ms / 1000;

	snprintf(out, len, "%02lld:%02lld:%02lld", (long long)(s / 3600),
	    (long long)(s / 60 % 60), (long long)(s % 60));
}

int
cli_show_exit_status(const cJSON *doc)
{
	if (jnum(doc, "exit_signal", 0) > 0)
		return 128 + (int)jnum(doc, "exit_signal", 0);
	if (jhas(doc, "exit_code") && jnum(doc, "exit_code", 1) >= 0)
		return (int)jnum(doc, "exit_code", 1);
	return 1;
}

static enum tcolor
state_color(const char *s)
{
	static const struct {
		const char	*state;
		enum tcolor	 color;
	} colors[] = {
		{ "online", TC_GREEN }, { "completed", TC_GREEN },
		{ "running", TC_BLUE }, { "assigned", TC_BLUE },
		{ "draining", TC_YELLOW }, { "stale", TC_YELLOW },
		{ "pending", TC_YELLOW }, { "canceling", TC_YELLOW },
		{ "canceled", TC_YELLOW }, { "registering", TC_DIM },
		{ "offline", TC_DIM }, { "lost", TC_RED }, { "failed", TC_RED },
	};
	size_t	i;

	for (i = 0; s != NULL && i < nitems(colors); i++)
		if (strcmp(s, colors[i].state) == 0)
			return colors[i].color;
	return TC_NONE;
}

/* "45% 2.1x", "frame 120 1.0x", or "" when nothing is known. */
static void
progress_cell(const cJSON *job, char *out, size_t len)
{
	const cJSON	*p = jget(job, "progress");
	char		 speed[40] = "", r[24];

	out[0] = '\0';
	if (!cJSON_IsObject(p) || p->child == NULL)
		return;
	if (jhas(p, "speed")) {
		rate(jnum(p, "speed", 0), r, sizeof(r));
		snprintf(speed, sizeof(speed), " %sx", r);
	}
	if (jhas(p, "percent"))
		snprintf(out, len, "%.0f%%%s", floor(jnum(p, "percent", 0)),
		    speed);
	else if (jhas(p, "out_time_ms")) {
		clock_of((int64_t)jnum(p, "out_time_ms", 0), out, len);
		strncat(out, speed, len - strlen(out) - 1);
	} else if (jhas(p, "frame"))
		snprintf(out, len, "frame %.0f%s", jnum(p, "frame", 0), speed);
}

static void
worker_table(FILE *f, const cJSON *workers, int64_t now, bool color)
{
	static const char *const heads[] = { "NAME", "STATE", "LAST SEEN",
	    ">JOBS", "DEVICES", ">WEIGHT", "VERSION", "PATHS" };
	const cJSON	*w, *p, *s;
	struct table	 t;
	char		 age[32], jobs[32], paths[256];
	size_t		 bad;

	table_init(&t, nitems(heads), heads);
	cJSON_ArrayForEach(w, workers) {
		table_cell(&t, jstr(w, "name"), TC_NONE);
		table_cell(&t, jstr(w, "state"), state_color(jstr(w, "state")));
		if (jhas(w, "last_seen")) {
			cli_show_span(now - (int64_t)jnum(w, "last_seen", 0),
			    age, sizeof(age));
			strncat(age, " ago", sizeof(age) - strlen(age) - 1);
		} else
			snprintf(age, sizeof(age), "never");
		table_cell(&t, age, TC_NONE);
		if (jnum(w, "max_jobs", 0) > 0)
			snprintf(jobs, sizeof(jobs), "%.0f/%.0f",
			    jnum(w, "running", 0), jnum(w, "max_jobs", 0));
		else
			snprintf(jobs, sizeof(jobs), "%.0f/-",
			    jnum(w, "running", 0));
		table_cell(&t, jobs, TC_NONE);
		paths[0] = '\0';
		cJSON_ArrayForEach(s, jget(w, "device_slots"))
			snprintf(paths + strlen(paths), sizeof(paths) -
			    strlen(paths), "%s%s %.0f/%.0f", paths[0] ? ", " :
			    "", s->string, jnum(s, "used", 0),
			    jnum(s, "max", 0));
		table_cell(&t, paths, TC_NONE);
		table_cellf(&t, TC_NONE, "%.0f", jnum(w, "weight", 1));
		table_cell(&t, jstr(w, "version"), TC_NONE);
		bad = 0;
		paths[0] = '\0';
		cJSON_ArrayForEach(p, jget(w, "paths")) {
			if (cJSON_IsString(p) && strcmp(p->valuestring,
			    "ok") == 0)
				continue;
			bad++;
			snprintf(paths + strlen(paths), sizeof(paths) -
			    strlen(paths), "%s%s unhealthy", bad > 1 ? ", " :
			    "", p->string);
		}
		if (bad == 0)
			snprintf(paths, sizeof(paths), "%d ok",
			    cJSON_GetArraySize(jget(w, "paths")));
		table_cell(&t, paths, bad > 0 ? TC_RED : TC_NONE);
	}
	if (cJSON_GetArraySize(workers) == 0)
		fprintf(f, "no workers\n");
	else
		table_print(&t, f, color);
	table_free(&t);
}

void
cli_show_jobs(FILE *f, const cJSON *jobs, int64_t now, bool color)
{
	static const char *const heads[] = { "ID", "STATE", "CLIENT",
	    "WORKER", "PROGRESS", ">AGE", "COMMAND" };
	const cJSON	*j;
	struct table	 t;
	char		 cell[64];

	if (cJSON_GetArraySize(jobs) == 0) {
		fprintf(f, "no jobs\n");
		return;
	}
	table_init(&t, nitems(heads), heads);
	cJSON_ArrayForEach(j, jobs) {
		table_cell(&t, jstr(j, "id"), TC_NONE);
		table_cell(&t, jstr(j, "state"), state_color(jstr(j, "state")));
		table_cell(&t, jstr(j, "client"), TC_NONE);
		table_cell(&t, jstr(j, "worker"), TC_NONE);
		progress_cell(j, cell, sizeof(cell));
		if (cell[0] == '\0' && jhas(j, "queue_position"))
			snprintf(cell, sizeof(cell), "queued #%.0f",
			    jnum(j, "queue_position", 0));
		table_cell(&t, cell, TC_NONE);
		cli_show_span(now - (int64_t)jnum(j, "created", 0), cell,
		    sizeof(cell));
		table_cell(&t, cell, TC_NONE);
		table_cell(&t, jstr(j, "command"), TC_DIM);
	}
	table_print(&t, f, color);
	table_free(&t);
}

void
cli_show_status(FILE *f, const cJSON *doc, bool color)
{
	const cJSON	*q, *u;
	int64_t		 now = (int64_t)jnum(doc, "now", 0);
	char		 up[32];
	bool		 first = true;

	cli_show_span((int64_t)jnum(doc, "uptime_ms", 0), up, sizeof(up));
	fprintf(f, "coordinator %s, up %s, broker %s; unfinished jobs:",
	    jstr(doc, "version") != NULL ? jstr(doc, "version") : "?", up,
	    cJSON_IsTrue(jget(doc, "broker_connected")) ? "connected" :
	    "disconnected");
	cJSON_ArrayForEach(u, jget(doc, "unfinished")) {
		fprintf(f, "%s %s %.0f", first ? "" : ",", u->string,
		    cJSON_IsNumber(u) ? u->valuedouble : 0);
		first = false;
	}
	fprintf(f, "\n\nWorkers\n");
	worker_table(f, jget(doc, "workers"), now, color);
	if (jnum(doc, "workers_total", 0) > cJSON_GetArraySize(jget(doc,
	    "workers")))
		fprintf(f, "(%.0f more: dffmpeg worker list shows them all)\n",
		    jnum(doc, "workers_total", 0) -
		    cJSON_GetArraySize(jget(doc, "workers")));
	q = jget(doc, "queue");
	fprintf(f, "\nQueue (%d)\n", cJSON_GetArraySize(q));
	if (cJSON_GetArraySize(q) > 0) {
		static const char *const heads[] = { ">#", "ID", "CLIENT",
		    "BINARY", ">WAITING" };
		struct table	 t;
		const cJSON	*e;
		char		 w[32];

		table_init(&t, nitems(heads), heads);
		cJSON_ArrayForEach(e, q) {
			table_cellf(&t, TC_NONE, "%.0f",
			    jnum(e, "position", 0));
			table_cell(&t, jstr(e, "id"), TC_NONE);
			table_cell(&t, jstr(e, "client"), TC_NONE);
			table_cell(&t, jstr(e, "binary"), TC_NONE);
			cli_show_span((int64_t)jnum(e, "waiting_ms", 0), w,
			    sizeof(w));
			table_cell(&t, w, TC_NONE);
		}
		table_print(&t, f, color);
		table_free(&t);
	}
	fprintf(f, "\nRecent jobs\n");
	cli_show_jobs(f, jget(doc, "jobs"), now, color);
}

void
cli_show_workers(FILE *f, const cJSON *doc, bool color)
{
	worker_table(f, jget(doc, "workers"), (int64_t)jnum(doc, "now", 0),
	    color);
}

/* "a b c" of an array of strings, "-" if empty. */
static void
joined(const cJSON *a, char *out, size_t len)
{
	const cJSON	*e;
	size_t		 n;

	out[0] = '\0';
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			continue;
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s", n > 0 ? " " : "",
		    e->valuestring);
	}
	if (out[0] == '\0')
		snprintf(out, len, "-");
}

static void
transitions(FILE *f, const cJSON *a, bool color)
{
	static const char *const heads[] = { "TIME", "FROM", "TO",
	    "REASON" };
	const cJSON	*e;
	struct table	 t;
	char		 at[32];
	int64_t		 ts;

	table_init(&t, nitems(heads), heads);
	cJSON_ArrayForEach(e, a) {
		ts = (int64_t)jnum(e, "ts", 0);
		when(ts, at, sizeof(at));
		table_cellf(&t, TC_NONE, "%s.%03lld", at,
		    (long long)(ts % 1000));
		table_cell(&t, jstr(e, "from"), TC_NONE);
		table_cell(&t, jstr(e, "to"), state_color(jstr(e, "to")));
		table_cell(&t, jstr(e, "reason"), TC_NONE);
	}
	table_print(&t, f, color);
	table_free(&t);
}

/* "a ok, b missing" of an object of strings. */
static void
pairs(const cJSON *o, char *out, size_t len)
{
	const cJSON	*e;
	size_t		 n;

	out[0] = '\0';
	cJSON_ArrayForEach(e, o) {
		n = strlen(out);
		snprintf(out + n, len - n, "%s%s %s", n > 0 ? ", " : "",
		    e->string, cJSON_IsString(e) ? e->valuestring : "?");
	}
}

/* One "key  value" line of a detail view. */
static void
field(struct table *t, const char *key, const char *val, enum tcolor c)
{
	table_cell(t, key, TC_NONE);
	table_cell(t, val != NULL && *val != '\0' ? val : "-", c);
}

void
cli_show_worker(FILE *f, const cJSON *doc, bool color)
{
	const cJSON	*w = jget(doc, "worker"), *hw, *s, *e;
	struct table	 t;
	char		 buf[4096], age[32];
	int64_t		 now = (int64_t)jnum(doc, "now", 0);

	table_init(&t, 2, NULL);
	field(&t, "name", jstr(w, "name"), TC_NONE);
	field(&t, "state", jstr(w, "state"), state_color(jstr(w, "state")));
	if (jhas(w, "last_seen")) {
		cli_show_span(now - (int64_t)jnum(w, "last_seen", 0), age,
		    sizeof(age));
		snprintf(buf, sizeof(buf), "%s ago", age);
	} else
		snprintf(buf, sizeof(buf), "never (since the coordinator "
		    "started)");
	field(&t, "last seen", buf, TC_NONE);
	snprintf(buf, sizeof(buf), "%.0f running, max_jobs %.0f%s, weight "
	    "%.0f", jnum(w, "running", 0), jnum(w, "max_jobs", 0),
	    jnum(w, "max_jobs", 0) == 0 ? " (unlimited)" : "",
	    jnum(w, "weight", 1));
	field(&t, "jobs", buf, TC_NONE);
	joined(jget(w, "jobs"), buf, sizeof(buf));
	field(&t, "running", buf, TC_NONE);
	buf[0] = '\0';
	cJSON_ArrayForEach(s, jget(w, "device_slots"))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "%s%s %.0f/%.0f", buf[0] ? ", " : "", s->string,
		    jnum(s, "used", 0), jnum(s, "max", 0));
	field(&t, "device slots", buf, TC_NONE);
	field(&t, "version", jstr(w, "version"), TC_NONE);
	field(&t, "ffmpeg", jstr(w, "ffmpeg_version"), TC_NONE);
	pairs(jget(w, "binaries"), buf, sizeof(buf));
	field(&t, "binaries", buf, TC_NONE);
	pairs(jget(w, "paths"), buf, sizeof(buf));
	field(&t, "paths", buf, TC_NONE);
	hw = jget(w, "hardware");
	if (cJSON_IsObject(hw)) {
		joined(jget(hw, "device_types"), buf, sizeof(buf));
		field(&t, "device types", buf, TC_NONE);
		joined(jget(hw, "encoders"), buf, sizeof(buf));
		field(&t, "hw encoders", buf, TC_NONE);
		joined(jget(hw, "decoders"), buf, sizeof(buf));
		field(&t, "hw decoders", buf, TC_NONE);
		joined(jget(hw, "filters"), buf, sizeof(buf));
		field(&t, "hw filters", buf, TC_NONE);
		joined(jget(hw, "devices"), buf, sizeof(buf));
		field(&t, "device nodes", buf, TC_NONE);
	} else
		field(&t, "hardware", "not known (no probe result)", TC_NONE);
	table_print(&t, f, color);
	table_free(&t);
	if (cJSON_IsObject(hw) && cJSON_GetArraySize(jget(hw,
	    "not_offered")) > 0) {
		fprintf(f, "\nNot offered (%d)\n", cJSON_GetArraySize(jget(hw,
		    "not_offered")));
		cJSON_ArrayForEach(e, jget(hw, "not_offered")) {
			fputs("  ", f);
			cli_show_text(f, e->string);
			fputs(": ", f);
			cli_show_text(f, cJSON_IsString(e) ? e->valuestring :
			    "?");
			fputc('\n', f);
		}
	}
	if (cJSON_GetArraySize(jget(w, "transitions")) > 0) {
		fprintf(f, "\nState changes\n");
		transitions(f, jget(w, "transitions"), color);
	}
}

/* Arguments as a shell would need them quoted. */
static void
command_line(const cJSON *job, struct buf *b)
{
	const cJSON	*a;
	const char	*s, *bin = jstr(job, "binary");
	char		 nul = '\0';

	buf_add(b, bin != NULL ? bin : "?", strlen(bin != NULL ? bin : "?"));
	cJSON_ArrayForEach(a, jget(job, "args")) {
		if (!cJSON_IsString(a))
			continue;
		s = a->valuestring;
		buf_add(b, " ", 1);
		if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+%@${}") ==
		    strlen(s)) {
			buf_add(b, s, strlen(s));
			continue;
		}
		buf_add(b, "'", 1);
		for (; *s != '\0'; s++) {
			if (*s == '\'')
				buf_add(b, "'\\''", 4);
			else
				buf_add(b, s, 1);
		}
		buf_add(b, "'", 1);
	}
	buf_add(b, &nul, 1);
}

void
cli_show_job(FILE *f, const cJSON *doc, bool color)
{
	const cJSON	*j = jget(doc, "job"), *p;
	struct table	 t;
	struct buf	 cmd = { 0 };
	char		 buf[512], a[32], b[32];
	int64_t		 now = (int64_t)jnum(doc, "now", 0);

	table_init(&t, 2, NULL);
	field(&t, "id", jstr(j, "id"), TC_NONE);
	field(&t, "state", jstr(j, "state"), state_color(jstr(j, "state")));
	field(&t, "client", jstr(j, "client"), TC_NONE);
	field(&t, "worker", jstr(j, "worker"), TC_NONE);
	if (cJSON_IsTrue(jget(j, "detached")))
		field(&t, "detached", "yes (no client attached)", TC_NONE);
	command_line(j, &cmd);
	field(&t, "command", (const char *)buf_head(&cmd), TC_NONE);
	field(&t, "cwd", jstr(j, "cwd"), TC_NONE);
	when((int64_t)jnum(j, "created", 0), a, sizeof(a));
	cli_show_span(now - (int64_t)jnum(j, "created", 0), b, sizeof(b));
	snprintf(buf, sizeof(buf), "%s (%s ago)", a, b);
	field(&t, "submitted", buf, TC_NONE);
	p = jget(j, "progress");
	if (cJSON_IsObject(p) && p->child != NULL) {
		buf[0] = '\0';
		if (jhas(p, "frame"))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "frame %.0f, ", jnum(p, "frame", 0));
		if (jhas(p, "fps")) {
			rate(jnum(p, "fps", 0), a, sizeof(a));
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s fps, ", a);
		}
		if (jhas(p, "speed")) {
			rate(jnum(p, "speed", 0), a, sizeof(a));
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%sx, ", a);
		}
		if (jhas(p, "out_time_ms")) {
			clock_of((int64_t)jnum(p, "out_time_ms", 0), a,
			    sizeof(a));
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s", a);
			if (jhas(p, "duration_ms")) {
				clock_of((int64_t)jnum(p, "duration_ms", 0), b,
				    sizeof(b));
				snprintf(buf + strlen(buf), sizeof(buf) -
				    strlen(buf), " of %s", b);
			}
		}
		if (jhas(p, "percent"))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    " (%.1f%%)", jnum(p, "percent", 0));
		field(&t, "progress", buf, TC_NONE);
	}
	if (jhas(j, "exit_code")) {
		if (jnum(j, "exit_signal", 0) > 0)
			snprintf(buf, sizeof(buf), "killed by signal %.0f",
			    jnum(j, "exit_signal", 0));
		else
			snprintf(buf, sizeof(buf), "exit code %.0f",
			    jnum(j, "exit_code", 0));
		field(&t, "exit", buf, TC_NONE);
	}
	snprintf(buf, sizeof(buf), "%.0f in, %.0f out", jnum(j, "bytes_in", 0),
	    jnum(j, "bytes_out", 0));
	field(&t, "bytes", buf, TC_NONE);
	field(&t, "reason", jstr(j, "reason"), TC_NONE);
	table_print(&t, f, color);
	table_free(&t);
	buf_free(&cmd);
	fprintf(f, "\nTransitions\n");
	transitions(f, jget(j, "transitions"), color);
}

void
cli_show_text(FILE *f, const char *s)
{
	char	*t;
	size_t	 i, n;

	if (!isatty(fileno(f))) {
		fputs(s, f);
		return;
	}
	t = xstrdup(s);
	n = strlen(t);
	utf8_sanitize(t, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') ||
		    c == 0x7f)
			t[i] = '?';
		else if (c == 0xc2 && (unsigned char)t[i + 1] >= 0x80 &&
		    (unsigned char)t[i + 1] <= 0x9f)
			t[i] = t[i + 1] = '?';	/* C1 */
	}
	fputs(t, f);
	free(t);
}

void
cli_show_json(FILE *f, const cJSON *doc)
{
	char	*s = cJSON_Print(doc);

	if (s == NULL)
		return;
	fprintf(f, "%s\n", s);
	cJSON_free(s);
}
