#ifndef DUOMAIL_LOG_H
#define DUOMAIL_LOG_H
/*
 * Logging to stderr, one line per event: "LEVEL [pid] who: text".
 * Never pass a password or a SASL response to these functions.
 * fatal() is for internal impossibilities only; client input never reaches it.
 */
#include <stdbool.h>
#include <stdnoreturn.h>
#include <stddef.h>
#include <stdlib.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level min);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Logs and aborts.  Only for states the code believes impossible. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "cannot fail" allocation: aborts on out of memory. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees *p and sets it to NULL. */
#define xfree(pp) do { free(*(pp)); *(pp) = NULL; } while (0)

#endif
