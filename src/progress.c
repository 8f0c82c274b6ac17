/*
 * A job's progress from ffmpeg's status lines, and its wire form.  See
 * progress.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "progress.h"
#include "util.h"

#define TIME_MAX_MS	(100LL * 365 * 24 * 3600 * 1000)	/* a century */
#define FRAME_MAX	(1LL << 50)
#define RATE_MAX	1e7

void
progress_init(struct progress *p)
{
	memset(p, 0, sizeof(*p));
	p->frame = p->out_time_ms = p->duration_ms = p->limit_ms = -1;
	p->fps = p->speed = -1;
}

/*
 * A decimal number, "123" or "12.5", between 0 and max; with exp, also
 * with an exponent as ffmpeg's status line prints fast rates ("%.3g":
 * 1.23e+03).  False for anything else.
 */
static bool
parse_num(const char *s, size_t len, double max, bool exp, double *out)
{
	char	 buf[32], *end;
	double	 v;
	size_t	 i;
	bool	 dot = false;

	if (len == 0 || len >= sizeof(buf) || !isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !dot)
			dot = true;
		else if (!isdigit((unsigned char)s[i]) &&
		    !(exp && strchr("e+-", s[i]) != NULL))
			return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (*end != '\0' || !isfinite(v) || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_number(const char *s, size_t len, double max, double *out)
{
	return parse_num(s, len, max, false, out);
}

int
progress_parse_time(const char *s, int64_t *ms)
{
	const char	*p = s;
	double		 part[3], frac = 0, v, scale = 1;
	size_t		 n = 0, len;
	bool		 neg = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	for (;;) {
		len = strspn(p, "0123456789");
		if (len == 0 || len > 12 || n == 3)
			return -1;
		if (!parse_number(p, len, 1e12, &part[n]))
			return -1;
		n++;
		p += len;
		if (*p != ':')
			break;
		p++;
	}
	if (*p == '.') {
		p++;
		len = strspn(p, "0123456789");
		if (len == 0 || len > 9)
			return -1;
		for (size_t i = 0; i < len; i++) {
			scale /= 10;
			frac += (p[i] - '0') * scale;
		}
		p += len;
	}
	if (n == 1) {
		v = part[0] + frac;
		if (strcmp(p, "ms") == 0)
			v /= 1000;
		else if (strcmp(p, "us") == 0)
			v /= 1e6;
		else if (*p != '\0' && strcmp(p, "s") != 0)
			return -1;
	} else {
		if (*p != '\0' || part[n - 1] >= 60 ||
		    (n == 3 && part[1] >= 60))
			return -1;
		v = n == 2 ? part[0] * 60 + part[1] + frac :
		    part[0] * 3600 + part[1] * 60 + part[2] + frac;
	}
	v *= 1000;
	if (v > (double)TIME_MAX_MS)
		return -1;
	*ms = (int64_t)llround(neg ? -v : v);
	return 0;
}

/* The value of "key=" in a status line: after the '=' and any blanks, up
 * to the next blank.  NULL if the key is not there. */
static const char *
field(const char *s, size_t len, const char *key, size_t *vlen)
{
	size_t	klen = strlen(key), i, j;

	for (i = 0; i + klen < len; i++) {
		if ((i > 0 && s[i - 1] != ' ') || memcmp(s + i, key, klen) != 0)
			continue;
		for (j = i + klen; j < len && s[j] == ' '; j++)
			;
		*vlen = 0;
		while (j + *vlen < len && s[j + *vlen] != ' ')
			(*vlen)++;
		return s + j;
	}
	return NULL;
}

bool
progress_line(struct progress *p, const char *s, size_t len)
{
	const char	*v;
	char		 buf[40];
	size_t		 vlen, lead;
	double		 d;
	int64_t		 ms;

	lead = 0;
	while (lead < len && s[lead] == ' ')
		lead++;
	if (!((len - lead >= 6 && memcmp(s + lead, "frame=", 6) == 0) ||
	    (len - lead >= 5 && memcmp(s + lead, "size=", 5) == 0)) ||
	    field(s, len, "time=", &vlen) == NULL)
		return false;
	p->known = true;
	if ((v = field(s, len, "frame=", &vlen)) != NULL &&
	    parse_number(v, vlen, (double)FRAME_MAX, &d))
		p->frame = (int64_t)d;
	if ((v = field(s, len, "fps=", &vlen)) != NULL &&
	    parse_num(v, vlen, RATE_MAX, true, &d))
		p->fps = d;
	if ((v = field(s, len, "speed=", &vlen)) != NULL) {
		if (vlen > 1 && v[vlen - 1] == 'x' &&
		    parse_num(v, vlen - 1, RATE_MAX, true, &d))
			p->speed = d;
		else
			p->speed = -1;	/* N/A */
	}
	if ((v = field(s, len, "time=", &vlen)) != NULL &&
	    vlen < sizeof(buf)) {
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		if (progress_parse_time(buf, &ms) == 0)
			p->out_time_ms = ms < 0 ? 0 : ms;
	}
	return true;
}

void
progress_duration(struct progress *p, const char *s, size_t len)
{
	const char	*v;
	char		 buf[40];
	size_t		 vlen;
	int64_t		 ms;

	if (p->duration_ms >= 0)
		return;		/* the first input's only */
	if ((v = field(s, len, "Duration:", &vlen)) == NULL)
		return;
	if (vlen > 0 && v[vlen - 1] == ',')
		vlen--;
	if (vlen >= sizeof(buf))
		return;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	if (progress_parse_time(buf, &ms) == 0 && ms > 0)
		p->duration_ms = ms;
}

void
progress_args(struct progress *p, int argc, char *const *argv)
{
	int64_t	ms, ss = 0, t = -1, to = -1;
	int	i, last_input = -1;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "-i") == 0)
			last_input = i;
	for (i = 0; i + 1 < argc; i++) {
		if (progress_parse_time(argv[i + 1], &ms) != 0 || ms < 0)
			continue;
		if (strcmp(argv[i], "-ss") == 0 && i < last_input && ss == 0)
			ss = ms;
		else if (strcmp(argv[i], "-t") == 0 && i > last_input)
			t = ms;
		else if (strcmp(argv[i], "-to") == 0 && i > last_input)
			to = ms;
	}
	p->offset_ms = ss;
	/* ffmpeg takes -t over -to. */
	p->limit_ms = t >= 0 ? t : to;
}

/* What the output will last: the input's length after its -ss, cut by
 * -t; the limit alone for an input without a length (lavfi). */
static int64_t
effective_duration(const struct progress *p)
{
	int64_t	d = -1;

	if (p->duration_ms > 0)
		d = p->duration_ms - p->offset_ms;
	if (p->limit_ms > 0 && (d <= 0 || p->limit_ms < d))
		d = p->limit_ms;
	return d > 0 ? d : -1;
}

double
progress_percent(const struct progress *p)
{
	int64_t	dur = effective_duration(p);
	double	pc;

	if (!p->known || dur <= 0 || p->out_time_ms < 0)
		return -1;
	pc = 100.0 * (double)p->out_time_ms / (double)dur;
	return pc > 100 ? 100 : pc;
}

void
progress_format(const struct progress *p, char *out, size_t outlen)
{
	size_t	n = 0;
	int64_t	dur = effective_duration(p);
	int	k;

#define ADD(...) do {							\
	k = snprintf(out + n, outlen - n, __VA_ARGS__);			\
	if (k > 0 && (size_t)k < outlen - n)				\
		n += (size_t)k;						\
} while (0)
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (p->frame >= 0)
		ADD("%sframe=%lld", n ? " " : "", (long long)p->frame);
	/* Plain decimals: what progress_parse reads (no exponents). */
	if (p->fps >= 0)
		ADD("%sfps=%.2f", n ? " " : "", p->fps);
	if (p->speed >= 0)
		ADD("%sspeed=%.3f", n ? " " : "", p->speed);
	if (p->out_time_ms >= 0)
		ADD("%sout_time_ms=%lld", n ? " " : "",
		    (long long)p->out_time_ms);
	if (dur > 0)
		ADD("%sduration_ms=%lld", n ? " " : "", (long long)dur);
#undef ADD
}

int
progress_parse(const char *s, struct progress *out)
{
	struct progress	 p;
	const char	*w = s, *eq, *end;
	double		 d;
	size_t		 klen;

	progress_init(&p);
	p.known = true;
	if (strlen(s) >= PROGRESS_WIRE_MAX)
		return -1;
	while (*w != '\0') {
		end = strchr(w, ' ');
		if (end == NULL)
			end = w + strlen(w);
		if ((eq = memchr(w, '=', (size_t)(end - w))) == NULL)
			return -1;
		klen = (size_t)(eq - w);
		eq++;
#define KEY(name) (klen == sizeof(name) - 1 && memcmp(w, name, klen) == 0)
		if (KEY("frame") && parse_number(eq, (size_t)(end - eq),
		    (double)FRAME_MAX, &d) && d == floor(d))
			p.frame = (int64_t)d;
		else if (KEY("fps") && parse_number(eq, (size_t)(end - eq),
		    RATE_MAX, &d))
			p.fps = d;
		else if (KEY("speed") && parse_number(eq, (size_t)(end - eq),
		    RATE_MAX, &d))
			p.speed = d;
		else if (KEY("out_time_ms") && parse_number(eq,
		    (size_t)(end - eq), (double)TIME_MAX_MS, &d) &&
		    d == floor(d))
			p.out_time_ms = (int64_t)d;
		else if (KEY("duration_ms") && parse_number(eq,
		    (size_t)(end - eq), (double)TIME_MAX_MS, &d) &&
		    d == floor(d) && d > 0)
			p.duration_ms = (int64_t)d;
		else
			return -1;
#undef KEY
		w = *end == ' ' ? end + 1 : end;
	}
	*out = p;
	return 0;
}

void
progress_json(const struct progress *p, cJSON *obj)
{
	double	pc;

	if (!p->known)
		return;
	if (p->frame >= 0)
		cJSON_AddNumberToObject(obj, "frame", (double)p->frame);
	if (p->fps >= 0)
		cJSON_AddNumberToObject(obj, "fps", p->fps);
	if (p->speed >= 0)
		cJSON_AddNumberToObject(obj, "speed", p->speed);
	if (p->out_time_ms >= 0)
		cJSON_AddNumberToObject(obj, "out_time_ms",
		    (double)p->out_time_ms);
	if (effective_duration(p) > 0)
		cJSON_AddNumberToObject(obj, "duration_ms",
		    (double)effective_duration(p));
	if ((pc = progress_percent(p)) >= 0)
		cJSON_AddNumberToObject(obj, "percent",
		    floor(pc * 10 + 0.5) / 10);
}
