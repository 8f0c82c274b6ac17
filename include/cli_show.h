/*
 * How the command-line applets show the coordinator's documents
 * (coord_query.c) to a person: aligned tables with headers, ages
 * relative to the document's "now", colour for states on a terminal.
 * With --json the documents are printed as they are instead.
 * Values come from other hosts: tables replace control characters
 * (table.h), and free text goes through cli_show_text.
 */
#ifndef DFFMPEG_CLI_SHOW_H
#define DFFMPEG_CLI_SHOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

/* "5s", "3m", "2h", "4d" for a span in ms. */
void	 cli_show_span(int64_t ms, char *, size_t);
/* What a job's exit means: its code, 128 + its signal, or 1 when its
 * process never ran or never reported (doc: a job summary or a logs
 * page). */
int	 cli_show_exit_status(const struct cJSON *doc);

void	 cli_show_status(FILE *, const struct cJSON *doc, bool color);
void	 cli_show_workers(FILE *, const struct cJSON *doc, bool color);
void	 cli_show_worker(FILE *, const struct cJSON *doc, bool color);
/* jobs: the array of job summaries; now: the document's clock. */
void	 cli_show_jobs(FILE *, const struct cJSON *jobs, int64_t now,
	    bool color);
void	 cli_show_job(FILE *, const struct cJSON *doc, bool color);
/* Print text from another host (a job's log) to f: as it is into a file
 * or a pipe, byte for byte; on a terminal, with every control character
 * but newline, carriage return and tab, and invalid UTF-8, shown as '?'
 * (an escape sequence in a log must not drive the reader's terminal). */
void	 cli_show_text(FILE *, const char *);
/* Print the document as JSON (indented), with a newline. */
void	 cli_show_json(FILE *, const struct cJSON *doc);

#endif
