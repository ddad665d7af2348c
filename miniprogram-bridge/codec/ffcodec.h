// C side of package codec: small wrappers around libavcodec and
// libswresample so that the Go side never handles AVFrame/AVPacket plane
// pointers or pointer arrays itself. Nothing here keeps a pointer to Go
// memory after a call returns: input is copied into C-owned buffers, output
// is written into caller-provided memory during the call.
#ifndef OPENROOM_FFCODEC_H
#define OPENROOM_FFCODEC_H

#include <stdint.h>

struct SwrContext;

typedef struct orc_dec orc_dec;
typedef struct orc_enc orc_enc;

void orc_quiet_logs(void);
void orc_strerror(int code, char *buf, int size);

// Decoders. prefer names an implementation to try first (may be NULL).
int orc_dec_open(orc_dec **out, int codec_id, const char *prefer,
                 const uint8_t *extradata, int extradata_size,
                 int sample_rate, int channels, const char **what);
const char *orc_dec_name(const orc_dec *d);
int orc_dec_send(orc_dec *d, const uint8_t *data, int size);
int orc_dec_receive(orc_dec *d, int *nb_samples, int *sample_rate, int *channels);
int orc_dec_copy(orc_dec *d, int16_t *out, int out_channels);
void orc_dec_free(orc_dec *d);

// Encoders. prefer names an implementation to try first (may be NULL);
// options is "key=value:key=value" (may be NULL); keys the implementation
// does not know are ignored.
int orc_enc_open(orc_enc **out, int codec_id, const char *prefer,
                 int sample_rate, int channels, int bit_rate,
                 const char *options, const char **what);
const char *orc_enc_name(const orc_enc *e);
int orc_enc_frame_size(const orc_enc *e);
const uint8_t *orc_enc_extradata(const orc_enc *e, int *size);
int orc_enc_send(orc_enc *e, const int16_t *pcm);
int orc_enc_receive(orc_enc *e, const uint8_t **data, int *size);
void orc_enc_free(orc_enc *e);

// Resampler (s16 interleaved in and out, 1 or 2 channels).
int orc_swr_open(struct SwrContext **out, int in_rate, int in_channels,
                 int out_rate, int out_channels, const char **what);
int orc_swr_out_samples(struct SwrContext *s, int in_samples);
int orc_swr_convert(struct SwrContext *s, const int16_t *in, int in_samples,
                    int16_t *out, int out_capacity);
void orc_swr_free(struct SwrContext *s);

#endif
