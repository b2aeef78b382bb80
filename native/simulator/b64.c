/* Base64 codec: see b64.h. OpenSSL's EVP_DecodeBlock is not used because it silently accepts
 * whitespace and reports padding bytes as data, which would make "not base64" hard to detect. */
#include "b64.h"

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void b64_encode(char *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        *dst++ = ALPHABET[v >> 18];
        *dst++ = ALPHABET[(v >> 12) & 63];
        *dst++ = ALPHABET[(v >> 6) & 63];
        *dst++ = ALPHABET[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        *dst++ = ALPHABET[v >> 18];
        *dst++ = ALPHABET[(v >> 12) & 63];
        *dst++ = '=';
        *dst++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        *dst++ = ALPHABET[v >> 18];
        *dst++ = ALPHABET[(v >> 12) & 63];
        *dst++ = ALPHABET[(v >> 6) & 63];
        *dst++ = '=';
    }
}

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long long b64_decode(uint8_t *dst, const char *src, size_t len)
{
    size_t out = 0;
    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int pad = 0;
        if (last && src[i + 3] == '=')
            pad = src[i + 2] == '=' ? 2 : 1;
        uint32_t v = 0;
        for (int k = 0; k < 4 - pad; k++) {
            int s = sextet(src[i + k]);
            if (s < 0)
                return -1;
            v = v << 6 | (uint32_t)s;
        }
        v <<= 6 * pad;
        dst[out++] = (uint8_t)(v >> 16);
        if (pad < 2)
            dst[out++] = (uint8_t)(v >> 8);
        if (pad < 1)
            dst[out++] = (uint8_t)v;
    }
    return (long long)out;
}
