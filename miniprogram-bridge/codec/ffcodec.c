#include "ffcodec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

void orc_quiet_logs(void) { av_log_set_level(AV_LOG_QUIET); }

void orc_strerror(int code, char *buf, int size) {
    if (av_strerror(code, buf, (size_t)size) < 0)
        snprintf(buf, (size_t)size, "error %d", code);
}

/* ---------------------------------------------------------------------------
 * Sample conversion between interleaved s16 and whatever a codec uses.
 */

static inline int16_t float_to_s16(float v) {
    if (!(v == v)) /* NaN */
        return 0;
    v *= 32768.0f;
    if (v >= 32767.0f)
        return 32767;
    if (v <= -32768.0f)
        return -32768;
    return (int16_t)(v >= 0.0f ? v + 0.5f : v - 0.5f);
}

static int supported_fmt(enum AVSampleFormat f) {
    switch (av_get_packed_sample_fmt(f)) {
    case AV_SAMPLE_FMT_S16:
    case AV_SAMPLE_FMT_S32:
    case AV_SAMPLE_FMT_FLT:
    case AV_SAMPLE_FMT_DBL:
        return 1;
    default:
        return 0;
    }
}

/* Sample i of channel c of a frame, as a float in [-1, 1). */
static inline float sample_at(const AVFrame *f, enum AVSampleFormat packed,
                              int planar, int nch, int c, int i) {
    const uint8_t *p = planar ? f->extended_data[c] : f->extended_data[0];
    int idx = planar ? i : i * nch + c;
    switch (packed) {
    case AV_SAMPLE_FMT_S16:
        return ((const int16_t *)p)[idx] * (1.0f / 32768.0f);
    case AV_SAMPLE_FMT_S32:
        return (float)(((const int32_t *)p)[idx] * (1.0 / 2147483648.0));
    case AV_SAMPLE_FMT_FLT:
        return ((const float *)p)[idx];
    case AV_SAMPLE_FMT_DBL:
        return (float)((const double *)p)[idx];
    default:
        return 0.0f;
    }
}

/* Writes a decoded frame as interleaved s16 with out_ch channels (1 or 2).
 * A mono frame is copied to both output channels; a stereo frame is averaged
 * into a mono output. Any other channel mismatch is an error. */
static int frame_to_s16(const AVFrame *f, int16_t *out, int out_ch) {
    int nch = f->ch_layout.nb_channels;
    int n = f->nb_samples;
    enum AVSampleFormat fmt = (enum AVSampleFormat)f->format;
    enum AVSampleFormat packed = av_get_packed_sample_fmt(fmt);
    int planar = av_sample_fmt_is_planar(fmt);

    if (n < 0 || nch < 1 || out_ch < 1 || out_ch > 2 || !supported_fmt(fmt))
        return AVERROR(EINVAL);
    if (!f->extended_data)
        return AVERROR(EINVAL);

    if (nch == out_ch) {
        if (fmt == AV_SAMPLE_FMT_S16) {
            memcpy(out, f->data[0], (size_t)n * (size_t)nch * sizeof(int16_t));
            return 0;
        }
        if (fmt == AV_SAMPLE_FMT_FLTP) {
            for (int c = 0; c < nch; c++) {
                const float *p = (const float *)f->extended_data[c];
                for (int i = 0; i < n; i++)
                    out[i * nch + c] = float_to_s16(p[i]);
            }
            return 0;
        }
        for (int i = 0; i < n; i++)
            for (int c = 0; c < nch; c++)
                out[i * nch + c] = float_to_s16(sample_at(f, packed, planar, nch, c, i));
        return 0;
    }
    if (nch == 1 && out_ch == 2) {
        for (int i = 0; i < n; i++) {
            int16_t v = float_to_s16(sample_at(f, packed, planar, nch, 0, i));
            out[2 * i] = v;
            out[2 * i + 1] = v;
        }
        return 0;
    }
    if (nch == 2 && out_ch == 1) {
        for (int i = 0; i < n; i++) {
            float l = sample_at(f, packed, planar, nch, 0, i);
            float r = sample_at(f, packed, planar, nch, 1, i);
            out[i] = float_to_s16(0.5f * (l + r));
        }
        return 0;
    }
    return AVERROR(EINVAL);
}

/* Fills a writable frame (f->nb_samples, f->format, f->ch_layout set) from
 * interleaved s16. */
static void s16_to_frame(AVFrame *f, const int16_t *in) {
    int nch = f->ch_layout.nb_channels;
    int n = f->nb_samples;
    enum AVSampleFormat fmt = (enum AVSampleFormat)f->format;
    const float fs = 1.0f / 32768.0f;

    switch (fmt) {
    case AV_SAMPLE_FMT_S16:
        memcpy(f->data[0], in, (size_t)n * (size_t)nch * sizeof(int16_t));
        break;
    case AV_SAMPLE_FMT_S16P:
        for (int c = 0; c < nch; c++) {
            int16_t *p = (int16_t *)f->extended_data[c];
            for (int i = 0; i < n; i++)
                p[i] = in[i * nch + c];
        }
        break;
    case AV_SAMPLE_FMT_FLT: {
        float *p = (float *)f->data[0];
        for (int i = 0; i < n * nch; i++)
            p[i] = in[i] * fs;
        break;
    }
    case AV_SAMPLE_FMT_FLTP:
        for (int c = 0; c < nch; c++) {
            float *p = (float *)f->extended_data[c];
            for (int i = 0; i < n; i++)
                p[i] = in[i * nch + c] * fs;
        }
        break;
    case AV_SAMPLE_FMT_S32: {
        int32_t *p = (int32_t *)f->data[0];
        for (int i = 0; i < n * nch; i++)
            p[i] = (int32_t)in[i] * 65536;
        break;
    }
    case AV_SAMPLE_FMT_S32P:
        for (int c = 0; c < nch; c++) {
            int32_t *p = (int32_t *)f->extended_data[c];
            for (int i = 0; i < n; i++)
                p[i] = (int32_t)in[i * nch + c] * 65536;
        }
        break;
    case AV_SAMPLE_FMT_DBL: {
        double *p = (double *)f->data[0];
        for (int i = 0; i < n * nch; i++)
            p[i] = in[i] / 32768.0;
        break;
    }
    case AV_SAMPLE_FMT_DBLP:
        for (int c = 0; c < nch; c++) {
            double *p = (double *)f->extended_data[c];
            for (int i = 0; i < n; i++)
                p[i] = in[i * nch + c] / 32768.0;
        }
        break;
    default:
        break; /* excluded by pick_sample_fmt */
    }
}

/* ---------------------------------------------------------------------------
 * Decoder.
 */

struct orc_dec {
    AVCodecContext *ctx;
    AVPacket *pkt;
    AVFrame *frame;
    uint8_t *buf; /* packet payload, reused; AV_INPUT_BUFFER_PADDING_SIZE extra */
    int cap;
    int have_frame;
};

void orc_dec_free(orc_dec *d) {
    if (!d)
        return;
    avcodec_free_context(&d->ctx);
    av_packet_free(&d->pkt);
    av_frame_free(&d->frame);
    av_freep(&d->buf);
    av_free(d);
}

static const AVCodec *find_codec(int encoder, int id, const char *prefer) {
    const AVCodec *c = NULL;
    if (prefer) {
        c = encoder ? avcodec_find_encoder_by_name(prefer)
                    : avcodec_find_decoder_by_name(prefer);
        if (c && (int)c->id != id)
            c = NULL;
    }
    if (!c)
        c = encoder ? avcodec_find_encoder((enum AVCodecID)id)
                    : avcodec_find_decoder((enum AVCodecID)id);
    return c;
}

int orc_dec_open(orc_dec **out, int codec_id, const char *prefer,
                 const uint8_t *extradata, int extradata_size,
                 int sample_rate, int channels, const char **what) {
    int ret;
    orc_dec *d;
    const AVCodec *codec;

    *out = NULL;
    *what = "allocating decoder";
    d = av_mallocz(sizeof(*d));
    if (!d)
        return AVERROR(ENOMEM);
    codec = find_codec(0, codec_id, prefer);
    if (!codec) {
        *what = "finding decoder";
        ret = AVERROR_DECODER_NOT_FOUND;
        goto fail;
    }
    d->ctx = avcodec_alloc_context3(codec);
    d->pkt = av_packet_alloc();
    d->frame = av_frame_alloc();
    if (!d->ctx || !d->pkt || !d->frame) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    d->ctx->thread_count = 1;
    d->ctx->request_sample_fmt = AV_SAMPLE_FMT_S16;
    if (sample_rate > 0)
        d->ctx->sample_rate = sample_rate;
    if (channels > 0)
        av_channel_layout_default(&d->ctx->ch_layout, channels);
    if (extradata_size > 0) {
        d->ctx->extradata = av_mallocz((size_t)extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!d->ctx->extradata) {
            ret = AVERROR(ENOMEM);
            goto fail;
        }
        memcpy(d->ctx->extradata, extradata, (size_t)extradata_size);
        d->ctx->extradata_size = extradata_size;
    }
    *what = "opening decoder";
    ret = avcodec_open2(d->ctx, codec, NULL);
    if (ret < 0)
        goto fail;
    *what = "";
    *out = d;
    return 0;
fail:
    orc_dec_free(d);
    return ret;
}

const char *orc_dec_name(const orc_dec *d) { return d->ctx->codec->name; }

int orc_dec_send(orc_dec *d, const uint8_t *data, int size) {
    if (size <= 0)
        return AVERROR(EINVAL);
    if (size > d->cap) {
        int cap = size < 4096 ? 4096 : size;
        uint8_t *b = av_malloc((size_t)cap + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!b)
            return AVERROR(ENOMEM);
        av_free(d->buf);
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf, data, (size_t)size);
    memset(d->buf + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    /* Not reference counted: libavcodec takes its own copy. */
    d->pkt->data = d->buf;
    d->pkt->size = size;
    return avcodec_send_packet(d->ctx, d->pkt);
}

/* Returns 1 with a frame held (read it with orc_dec_copy), 0 when the decoder
 * wants more input, or a negative AVERROR. */
int orc_dec_receive(orc_dec *d, int *nb_samples, int *sample_rate, int *channels) {
    int ret;
    av_frame_unref(d->frame);
    d->have_frame = 0;
    ret = avcodec_receive_frame(d->ctx, d->frame);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
        return 0;
    if (ret < 0)
        return ret;
    d->have_frame = 1;
    *nb_samples = d->frame->nb_samples;
    *sample_rate = d->frame->sample_rate;
    *channels = d->frame->ch_layout.nb_channels;
    return 1;
}

/* Copies the held frame into out, which has room for nb_samples*out_channels. */
int orc_dec_copy(orc_dec *d, int16_t *out, int out_channels) {
    int ret;
    if (!d->have_frame)
        return AVERROR(EINVAL);
    ret = frame_to_s16(d->frame, out, out_channels);
    av_frame_unref(d->frame);
    d->have_frame = 0;
    return ret;
}

/* ---------------------------------------------------------------------------
 * Encoder.
 */

struct orc_enc {
    AVCodecContext *ctx;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t pts;
};

void orc_enc_free(orc_enc *e) {
    if (!e)
        return;
    avcodec_free_context(&e->ctx);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    av_free(e);
}

static enum AVSampleFormat pick_sample_fmt(const AVCodec *c) {
    static const enum AVSampleFormat pref[] = {
        AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_S16P,
        AV_SAMPLE_FMT_S32, AV_SAMPLE_FMT_S32P, AV_SAMPLE_FMT_DBL, AV_SAMPLE_FMT_DBLP,
    };
    if (!c->sample_fmts)
        return AV_SAMPLE_FMT_S16;
    for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++)
        for (const enum AVSampleFormat *f = c->sample_fmts; *f != AV_SAMPLE_FMT_NONE; f++)
            if (*f == pref[i])
                return pref[i];
    return AV_SAMPLE_FMT_NONE;
}

int orc_enc_open(orc_enc **out, int codec_id, const char *prefer,
                 int sample_rate, int channels, int bit_rate,
                 const char *options, const char **what) {
    int ret;
    orc_enc *e;
    const AVCodec *codec;
    AVDictionary *opts = NULL;

    *out = NULL;
    *what = "allocating encoder";
    e = av_mallocz(sizeof(*e));
    if (!e)
        return AVERROR(ENOMEM);
    codec = find_codec(1, codec_id, prefer);
    if (!codec) {
        *what = "finding encoder";
        ret = AVERROR_ENCODER_NOT_FOUND;
        goto fail;
    }
    e->ctx = avcodec_alloc_context3(codec);
    e->frame = av_frame_alloc();
    e->pkt = av_packet_alloc();
    if (!e->ctx || !e->frame || !e->pkt) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    e->ctx->sample_fmt = pick_sample_fmt(codec);
    if (e->ctx->sample_fmt == AV_SAMPLE_FMT_NONE) {
        *what = "choosing a sample format";
        ret = AVERROR(ENOSYS);
        goto fail;
    }
    e->ctx->thread_count = 1;
    e->ctx->sample_rate = sample_rate;
    e->ctx->bit_rate = bit_rate;
    e->ctx->time_base = (AVRational){1, sample_rate};
    e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* The native Opus encoder (the fallback) is experimental in FFmpeg 5.1. */
    if (codec->capabilities & AV_CODEC_CAP_EXPERIMENTAL)
        e->ctx->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
    av_channel_layout_default(&e->ctx->ch_layout, channels);
    if (options && *options) {
        *what = "parsing options";
        ret = av_dict_parse_string(&opts, options, "=", ":", 0);
        if (ret < 0)
            goto fail;
    }
    /* Options the chosen implementation does not have stay in opts, unused. */
    *what = "opening encoder";
    ret = avcodec_open2(e->ctx, codec, &opts);
    if (ret < 0)
        goto fail;
    if (e->ctx->frame_size <= 0) {
        *what = "checking frame size";
        ret = AVERROR(ENOSYS);
        goto fail;
    }
    *what = "allocating frame";
    e->frame->format = e->ctx->sample_fmt;
    e->frame->nb_samples = e->ctx->frame_size;
    e->frame->sample_rate = sample_rate;
    ret = av_channel_layout_copy(&e->frame->ch_layout, &e->ctx->ch_layout);
    if (ret < 0)
        goto fail;
    ret = av_frame_get_buffer(e->frame, 0);
    if (ret < 0)
        goto fail;
    av_dict_free(&opts);
    *what = "";
    *out = e;
    return 0;
fail:
    av_dict_free(&opts);
    orc_enc_free(e);
    return ret;
}

const char *orc_enc_name(const orc_enc *e) { return e->ctx->codec->name; }

int orc_enc_frame_size(const orc_enc *e) { return e->ctx->frame_size; }

const uint8_t *orc_enc_extradata(const orc_enc *e, int *size) {
    *size = e->ctx->extradata ? e->ctx->extradata_size : 0;
    return e->ctx->extradata;
}

/* Encodes exactly one frame (frame_size samples per channel) of interleaved
 * s16. Drain packets with orc_enc_receive before sending the next frame. */
int orc_enc_send(orc_enc *e, const int16_t *pcm) {
    int ret = av_frame_make_writable(e->frame);
    if (ret < 0)
        return ret;
    s16_to_frame(e->frame, pcm);
    e->frame->pts = e->pts;
    e->pts += e->frame->nb_samples;
    return avcodec_send_frame(e->ctx, e->frame);
}

/* Returns 1 with *data/*size pointing at the next packet (valid until the
 * next call), 0 when no packet is ready, or a negative AVERROR. */
int orc_enc_receive(orc_enc *e, const uint8_t **data, int *size) {
    int ret;
    av_packet_unref(e->pkt);
    ret = avcodec_receive_packet(e->ctx, e->pkt);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
        return 0;
    if (ret < 0)
        return ret;
    *data = e->pkt->data;
    *size = e->pkt->size;
    return 1;
}

/* ---------------------------------------------------------------------------
 * Resampler.
 */

int orc_swr_open(struct SwrContext **out, int in_rate, int in_channels,
                 int out_rate, int out_channels, const char **what) {
    AVChannelLayout in_layout, out_layout;
    struct SwrContext *s = NULL;
    int ret;

    *out = NULL;
    av_channel_layout_default(&in_layout, in_channels);
    av_channel_layout_default(&out_layout, out_channels);
    *what = "allocating resampler";
    ret = swr_alloc_set_opts2(&s, &out_layout, AV_SAMPLE_FMT_S16, out_rate,
                              &in_layout, AV_SAMPLE_FMT_S16, in_rate, 0, NULL);
    if (ret < 0)
        goto fail;
    /* Explicit matrices: swresample's defaults would attenuate mono->stereo
     * by 3 dB. Here mono is copied to both sides and stereo is averaged. */
    if (in_channels == 1 && out_channels == 2) {
        static const double up[2] = {1.0, 1.0};
        *what = "setting mixing matrix";
        ret = swr_set_matrix(s, up, 1);
        if (ret < 0)
            goto fail;
    } else if (in_channels == 2 && out_channels == 1) {
        static const double down[2] = {0.5, 0.5};
        *what = "setting mixing matrix";
        ret = swr_set_matrix(s, down, 2);
        if (ret < 0)
            goto fail;
    }
    *what = "initialising resampler";
    ret = swr_init(s);
    if (ret < 0)
        goto fail;
    av_channel_layout_uninit(&in_layout);
    av_channel_layout_uninit(&out_layout);
    *what = "";
    *out = s;
    return 0;
fail:
    swr_free(&s);
    av_channel_layout_uninit(&in_layout);
    av_channel_layout_uninit(&out_layout);
    return ret;
}

int orc_swr_out_samples(struct SwrContext *s, int in_samples) {
    return swr_get_out_samples(s, in_samples);
}

int orc_swr_convert(struct SwrContext *s, const int16_t *in, int in_samples,
                    int16_t *out, int out_capacity) {
    const uint8_t *in_planes[1] = {(const uint8_t *)in};
    uint8_t *out_planes[1] = {(uint8_t *)out};
    return swr_convert(s, out_planes, out_capacity, in_planes, in_samples);
}

void orc_swr_free(struct SwrContext *s) { swr_free(&s); }
