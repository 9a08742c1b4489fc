#ifndef WEIGHTKIT_CPNG_SHIM_H
#define WEIGHTKIT_CPNG_SHIM_H
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors by longjmp, which Swift cannot catch: this helper decodes a PNG held in
   memory to 8-bit RGBA (palette and transparency expanded, 16 bits reduced to their high byte,
   gray replicated, opaque alpha added where there is none, no gamma correction) and returns an
   error text instead of jumping. */

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    jmp_buf jump;
    char message[200];
} wk_png_reader;

static void wk_png_read(png_structp png, png_bytep out, png_size_t count) {
    wk_png_reader *reader = (wk_png_reader *)png_get_io_ptr(png);
    if (count > reader->size - reader->offset) png_error(png, "file is truncated");
    memcpy(out, reader->data + reader->offset, count);
    reader->offset += count;
}

static void wk_png_error(png_structp png, png_const_charp message) {
    wk_png_reader *reader = (wk_png_reader *)png_get_error_ptr(png);
    strncpy(reader->message, message, sizeof(reader->message) - 1);
    longjmp(reader->jump, 1);
}

static void wk_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

/* Returns 0 and a malloc'ed RGBA buffer in *pixels, -1 with the reason in message, or -2 with
   *width and *height set when the header declares more than max_pixels pixels (judged before
   anything is decoded or allocated for the image). */
static inline int wk_png_decode_rgba(const unsigned char *data, size_t size, unsigned long long max_pixels, unsigned char **pixels,
                                    unsigned int *width, unsigned int *height, char *message, size_t message_size) {
    wk_png_reader reader;
    memset(&reader, 0, sizeof(reader));
    reader.data = data;
    reader.size = size;
    *pixels = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, wk_png_error, wk_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        strncpy(message, "libpng could not allocate its state", message_size - 1);
        if (png) png_destroy_read_struct(&png, NULL, NULL);
        return -1;
    }
    if (setjmp(reader.jump)) {
        strncpy(message, reader.message, message_size - 1);
        free(buffer);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &reader, wk_png_read);
    png_set_user_limits(png, 1u << 16, 1u << 16);
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((unsigned long long)w * h > max_pixels) {
        *width = w;
        *height = h;
        png_destroy_read_struct(&png, &info, NULL);
        return -2;
    }
    int color = png_get_color_type(png, info);
    png_set_expand(png);
    png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS)) png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) png_error(png, "unexpected row layout after conversion to RGBA");
    buffer = (unsigned char *)malloc((size_t)w * h * 4);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buffer + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = buffer;
    *width = w;
    *height = h;
    return 0;
}
#endif
