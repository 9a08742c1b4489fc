#ifndef WEIGHTKIT_CJPEG_SHIM_H
#define WEIGHTKIT_CJPEG_SHIM_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

/* libjpeg reports errors through error_exit, which must not return: this helper jumps back and
   returns the message instead. Decodes to 8-bit RGB with libjpeg's defaults (islow IDCT, fancy
   upsampling), as Pillow does; grayscale is replicated to three channels. */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} wk_jpeg_error;

static void wk_jpeg_error_exit(j_common_ptr info) {
    wk_jpeg_error *error = (wk_jpeg_error *)info->err;
    error->base.format_message(info, error->message);
    longjmp(error->jump, 1);
}

static void wk_jpeg_output_message(j_common_ptr info) { (void)info; }

/* Warnings (level -1) mean corrupt or truncated data: treated as errors, as Pillow refuses a
   truncated file. Trace messages (level >= 0) are ignored. */
static void wk_jpeg_emit_message(j_common_ptr info, int level) {
    if (level < 0) wk_jpeg_error_exit(info);
}

/* Returns 0 and a malloc'ed RGB buffer in *pixels, -1 with the reason in message, or -2 with
   *width and *height set when the header declares more than max_pixels pixels (judged before
   decompression starts, so before libjpeg allocates anything for the image). */
static inline int wk_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned long long max_pixels, unsigned char **pixels,
                                     unsigned int *width, unsigned int *height, char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    wk_jpeg_error error;
    unsigned char *volatile buffer = NULL;
    *pixels = NULL;
    info.err = jpeg_std_error(&error.base);
    error.base.error_exit = wk_jpeg_error_exit;
    error.base.output_message = wk_jpeg_output_message;
    error.base.emit_message = wk_jpeg_emit_message;
    error.message[0] = 0;
    if (setjmp(error.jump)) {
        strncpy(message, error.message, message_size - 1);
        free(buffer);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    if ((unsigned long long)info.image_width * info.image_height > max_pixels) {
        *width = info.image_width;
        *height = info.image_height;
        jpeg_destroy_decompress(&info);
        return -2;
    }
    /* Bounds libjpeg's own working memory (progressive coefficient buffers) as well. */
    info.mem->max_memory_to_use = 1024L * 1024L * 1024L;
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        strncpy(error.message, "CMYK JPEG images are not supported", sizeof(error.message) - 1);
        longjmp(error.jump, 1);
    }
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    if (info.output_components != 3) {
        strncpy(error.message, "unexpected component count after conversion to RGB", sizeof(error.message) - 1);
        longjmp(error.jump, 1);
    }
    size_t stride = (size_t)info.output_width * 3;
    buffer = (unsigned char *)malloc(stride * info.output_height);
    if (!buffer) {
        strncpy(error.message, "out of memory", sizeof(error.message) - 1);
        longjmp(error.jump, 1);
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = buffer + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    *width = info.output_width;
    *height = info.output_height;
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    *pixels = buffer;
    return 0;
}
#endif
