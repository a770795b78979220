/* Whole-file helpers shared by modules that persist state. */
#ifndef MS_CORE_FILE_H
#define MS_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Replaces path with len bytes so that a crash leaves either the old or the
 * new file, never a mix: writes path.tmp, fsyncs it, renames it over path,
 * fsyncs the folder. Returns 0 or MS_EIO (errno says why). */
int ms_file_write_atomic(const char *path, const uint8_t *p, size_t len);

/* Reads a whole file (up to max bytes) into a malloc'd buffer. Returns 0,
 * MS_ENOENT, MS_ETOOBIG or MS_EIO. */
int ms_file_read_all(const char *path, size_t max, uint8_t **out,
                     size_t *len);

/* CRC-32 (IEEE 802.3, as zlib), continued from crc (start with 0). */
uint32_t ms_crc32(uint32_t crc, const uint8_t *p, size_t len);

#endif
