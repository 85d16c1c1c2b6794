#ifndef DUOMAIL_TEXT_FOLD_H
#define DUOMAIL_TEXT_FOLD_H
/*
 * Case folding of UTF-8 text for case-insensitive matching (IMAP SEARCH,
 * RFC 3501 §6.4.4: "The matching is case-insensitive").  Protocol-neutral.
 *
 * A letter is folded to its lower-case form by Unicode's simple mappings
 * for ASCII, Latin-1, Latin Extended-A/B, Latin Extended Additional, Greek,
 * Cyrillic, Armenian and fullwidth ASCII; final sigma folds to sigma and
 * long s to s so that both spellings of one word match.  Our own table, not
 * the C library's towlower(): that one depends on the process locale and
 * only knows ASCII in the "C" locale servers run in.
 *
 * Text need not be valid UTF-8: a byte that does not start a well-formed
 * sequence passes through unchanged, so raw 8-bit text matches itself.
 * Carriage returns are dropped, so CRLF and LF text fold alike.
 */
#include <stddef.h>
#include <stdint.h>

/* The folded form of one code point. */
uint32_t text_fold_cp(uint32_t cp);

/* Streaming state: a UTF-8 sequence may be cut across chunks. */
struct text_folder {
	unsigned char pend[4];
	unsigned npend;
};

/* Output is never more than 3/2 of the input plus the bytes held back. */
#define TEXT_FOLD_OUT_MAX(len)	((len) + (len) / 2 + 8)

void text_folder_init(struct text_folder *f);
/* Folds in[0..len) into out (room for TEXT_FOLD_OUT_MAX(len) bytes) and
 * returns the bytes written.  An incomplete sequence at the end is held
 * back for the next call. */
size_t text_fold(struct text_folder *f, const char *in, size_t len, char *out);
/* Ends the text: writes held-back bytes as they are (room for 4 bytes). */
size_t text_fold_finish(struct text_folder *f, char *out);

/* One-shot: folds s[0..len) into a new NUL-terminated string. */
char *text_fold_string(const char *s, size_t len, size_t *len_r);

#endif
