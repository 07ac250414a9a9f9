#ifndef SCM_BROKER_COPENSSL_SHIM_H
#define SCM_BROKER_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

// Swift cannot import function-like macros; these wrap the few we need.

static inline void scm_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

static inline long scm_bio_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

// EVP_PKEY_PUBLIC_KEY is a composite selection macro.
static inline int scm_evp_pkey_public_key_selection(void) {
    return EVP_PKEY_PUBLIC_KEY;
}

// The GCM controls are aliases of AEAD controls; keep their use explicit and typed.
static inline int scm_aes_gcm_set_iv_length(EVP_CIPHER_CTX *ctx, int length) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, length, NULL);
}

static inline int scm_aes_gcm_get_tag(EVP_CIPHER_CTX *ctx, int length, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, length, tag);
}

static inline int scm_aes_gcm_set_tag(EVP_CIPHER_CTX *ctx, int length, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, length, tag);
}

// A PEM passphrase callback that never prompts: encrypted keys are refused, not asked for.
static inline int scm_pem_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return -1;
}

static inline pem_password_cb *scm_pem_no_passphrase_callback(void) {
    return scm_pem_no_passphrase;
}

#endif
