#ifndef DNSTRAIL_CZLIB_SHIM_H
#define DNSTRAIL_CZLIB_SHIM_H
#include <zlib.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/*
 * A gzip-or-plain byte stream as a stdio FILE, for pcap_fopen_offline().
 *
 * zlib's gzread() decompresses a gzip stream (detected by its 1f 8b magic, whatever the
 * file is called) and copies any other stream through unchanged, so one reader serves
 * .pcap, .pcapng and their .gz forms, from regular files and from pipes alike. The first
 * four decompressed bytes are read at open time so that the caller can name the capture
 * format (or the unknown magic) before libpcap sees them; the FILE replays them first.
 *
 * glibc declares fopencookie() and cookie_io_functions_t only under _GNU_SOURCE, which
 * the Swift Glibc module is not built with, so this header declares a layout-identical
 * copy of the struct and binds to the same symbol with an asm label.
 */

typedef ssize_t (*dnstrail_cookie_read)(void *cookie, char *buffer, size_t size);
typedef ssize_t (*dnstrail_cookie_write)(void *cookie, const char *buffer, size_t size);
typedef int (*dnstrail_cookie_seek)(void *cookie, long long *position, int whence);
typedef int (*dnstrail_cookie_close)(void *cookie);

typedef struct {
    dnstrail_cookie_read read;
    dnstrail_cookie_write write;
    dnstrail_cookie_seek seek;
    dnstrail_cookie_close close;
} dnstrail_cookie_io_functions;

extern FILE *dnstrail_fopencookie(void *cookie, const char *mode,
                                  dnstrail_cookie_io_functions functions) __asm__("fopencookie");

/* Bytes read ahead at open time and handed out again before the rest of the stream. */
enum { DNSTRAIL_GZ_PREFIX_CAPACITY = 4 };

typedef struct dnstrail_gz_reader {
    gzFile gz;
    unsigned char prefix[DNSTRAIL_GZ_PREFIX_CAPACITY];
    int prefix_length;   /* bytes of prefix read at open time (0...4) */
    int prefix_position; /* bytes of prefix already returned */
    int read_error;      /* gzread returned -1 while reading the prefix */
} dnstrail_gz_reader;

static inline ssize_t dnstrail_gz_reader_read(void *cookie, char *buffer, size_t size) {
    dnstrail_gz_reader *reader = (dnstrail_gz_reader *)cookie;
    size_t done = 0;
    while (done < size && reader->prefix_position < reader->prefix_length) {
        buffer[done++] = (char)reader->prefix[reader->prefix_position++];
    }
    if (done == size) return (ssize_t)done;
    size_t wanted = size - done;
    unsigned chunk = wanted > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)wanted;
    int count = gzread(reader->gz, buffer + done, chunk);
    if (count < 0) {
        if (done > 0) return (ssize_t)done;
        errno = EIO;
        return -1;
    }
    return (ssize_t)(done + (size_t)count);
}

static inline int dnstrail_gz_reader_close(void *cookie) {
    dnstrail_gz_reader *reader = (dnstrail_gz_reader *)cookie;
    int result = gzclose_r(reader->gz);
    free(reader);
    return result == Z_OK ? 0 : EOF;
}

/* Takes ownership of `fd` on success; on failure (NULL, out of memory) `fd` stays open. */
static inline dnstrail_gz_reader *dnstrail_gz_reader_open(int fd) {
    dnstrail_gz_reader *reader = (dnstrail_gz_reader *)calloc(1, sizeof *reader);
    if (reader == NULL) return NULL;
    reader->gz = gzdopen(fd, "rb");
    if (reader->gz == NULL) {
        free(reader);
        return NULL;
    }
    (void)gzbuffer(reader->gz, 1u << 18);
    int count = gzread(reader->gz, reader->prefix, DNSTRAIL_GZ_PREFIX_CAPACITY);
    if (count < 0) {
        reader->read_error = 1;
        count = 0;
    }
    reader->prefix_length = count;
    return reader;
}

/* Closes the reader (and its file descriptor) when no FILE was made from it. */
static inline void dnstrail_gz_reader_discard(dnstrail_gz_reader *reader) {
    (void)dnstrail_gz_reader_close(reader);
}

/* 1 when the stream is gzip-compressed, 0 when zlib copies it through unchanged. */
static inline int dnstrail_gz_reader_is_compressed(const dnstrail_gz_reader *reader) {
    return gzdirect(reader->gz) == 0;
}

/* zlib's message for the last error (e.g. "unexpected end of file"), or NULL if none. */
static inline const char *dnstrail_gz_reader_error(const dnstrail_gz_reader *reader) {
    int code = Z_OK;
    const char *message = gzerror(reader->gz, &code);
    if (code == Z_OK) return NULL;
    return message;
}

/* 1 when zlib reached the end of the input in the middle of a gzip member. */
static inline int dnstrail_gz_reader_ended_early(const dnstrail_gz_reader *reader) {
    int code = Z_OK;
    (void)gzerror(reader->gz, &code);
    return code == Z_BUF_ERROR;
}

/* A read-only FILE over the reader; fclose() closes the reader. NULL if glibc refuses. */
static inline FILE *dnstrail_gz_reader_fopen(dnstrail_gz_reader *reader) {
    dnstrail_cookie_io_functions functions = {
        dnstrail_gz_reader_read, NULL, NULL, dnstrail_gz_reader_close
    };
    return dnstrail_fopencookie(reader, "r", functions);
}

#endif
