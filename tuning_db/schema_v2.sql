-- kerntune tuning database, schema version 2.
--
-- This file is compiled into kerntune (src/db/CMakeLists.txt); database::open runs it once,
-- inside one BEGIN IMMEDIATE transaction, on a new or empty file. The schema version is kept in
-- PRAGMA user_version (last statement below): a file with a larger number was written by a newer
-- kerntune and is refused rather than misread. A file of an older version (tuning_db/schema_vN.sql)
-- is read as it is, and migrated to this one, in one transaction, when it is opened for writing.
-- Version 2 added kerntune_version to measurements and winners.
--
-- Conventions:
--   * STRICT tables: a value of the wrong type is an error, never silently converted.
--   * Times are UTC ISO-8601 text with milliseconds ("2024-05-01T12:34:56.789Z"), filled in by the
--     column default when a row is written.
--   * A result is keyed by everything it depends on (the "tuning key"): template name and source
--     hash, dtype, problem key, GPU identity and NVRTC version. Anything different is a miss.

-- Every GPU the tuner has run on. identity = name + compute capability + SM count, built by the
-- tuner (e.g. "NVIDIA H100 80GB HBM3|sm_90|132 SMs"); results are only reused on an identical one.
-- The other columns describe the GPU as last seen (a driver update rewrites the row).
CREATE TABLE devices (
    identity         TEXT    NOT NULL PRIMARY KEY,
    name             TEXT    NOT NULL,
    cc_major         INTEGER NOT NULL CHECK (cc_major >= 0),
    cc_minor         INTEGER NOT NULL CHECK (cc_minor >= 0),
    sm_count         INTEGER NOT NULL CHECK (sm_count >= 0),
    memory_clock_khz INTEGER NOT NULL CHECK (memory_clock_khz >= 0),
    bus_width_bits   INTEGER NOT NULL CHECK (bus_width_bits >= 0),
    l2_bytes         INTEGER NOT NULL CHECK (l2_bytes >= 0),
    theoretical_gbps REAL    NOT NULL CHECK (theoretical_gbps >= 0),  -- memory clock x bus width x 2
    copy_gbps        REAL    NOT NULL CHECK (copy_gbps >= 0),         -- device-to-device copy, read + written
    driver_version   TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- One row per candidate configuration tried for a tuning key: its outcome, kept whether it
-- worked or not, so that an interrupted tune resumes where it stopped and never retries a
-- candidate that is known to fail. Rewriting a (key, config) replaces the row.
CREATE TABLE measurements (
    template_name TEXT    NOT NULL,
    template_hash TEXT    NOT NULL,  -- hash of the template source: an edited template is a new key
    dtype         TEXT    NOT NULL,
    problem_key   TEXT    NOT NULL,
    gpu_identity  TEXT    NOT NULL REFERENCES devices (identity),
    nvrtc_version TEXT    NOT NULL,
    config        TEXT    NOT NULL,  -- canonical label, e.g. "blk256.vec4.unr2.plain.tile.w0"
    status        TEXT    NOT NULL CHECK (status IN ('ok', 'compile_failed', 'resource_limit', 'launch_failed', 'runtime_fault', 'timeout', 'wrong_answer')),
    median_us     REAL    NOT NULL CHECK (median_us >= 0),  -- 0 unless status is 'ok'
    noise         REAL    NOT NULL CHECK (noise >= 0),      -- relative spread of the samples
    gbps          REAL    NOT NULL CHECK (gbps >= 0),       -- bytes moved / median time
    samples       INTEGER NOT NULL CHECK (samples >= 0),
    message       TEXT    NOT NULL,  -- why it failed, e.g. the NVRTC log; empty when ok
    measured_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    kerntune_version TEXT NOT NULL DEFAULT '',  -- the kerntune that wrote the row, e.g. "0.2.0"; '' in rows from schema 1
    PRIMARY KEY (template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version, config)
) STRICT;

-- The fastest 'ok' candidate per tuning key, with the figures a report needs; this is what
-- later runs look up. It is written at the end of a tune and replaced by the next tune of the
-- same key.
CREATE TABLE winners (
    template_name     TEXT    NOT NULL,
    template_hash     TEXT    NOT NULL,
    dtype             TEXT    NOT NULL,
    problem_key       TEXT    NOT NULL,
    gpu_identity      TEXT    NOT NULL REFERENCES devices (identity),
    nvrtc_version     TEXT    NOT NULL,
    config            TEXT    NOT NULL,
    median_us         REAL    NOT NULL CHECK (median_us >= 0),
    gbps              REAL    NOT NULL CHECK (gbps >= 0),
    pct_theoretical   REAL    NOT NULL,  -- gbps as a percentage of devices.theoretical_gbps
    pct_copy          REAL    NOT NULL,  -- gbps as a percentage of devices.copy_gbps
    candidates_ok     INTEGER NOT NULL CHECK (candidates_ok >= 0),
    candidates_failed INTEGER NOT NULL CHECK (candidates_failed >= 0),
    tune_seconds      REAL    NOT NULL CHECK (tune_seconds >= 0),  -- compile + measure wall time
    tuned_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    kerntune_version  TEXT    NOT NULL DEFAULT '',  -- the kerntune that wrote the row; '' in rows from schema 1
    PRIMARY KEY (template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version)
) STRICT;

-- Compiled kernels cached by the runtime (libkerntune), so that an application does not run
-- NVRTC again for a config it has used before. Keyed by everything the cubin depends on.
CREATE TABLE binaries (
    template_hash TEXT NOT NULL,
    config        TEXT NOT NULL,
    dtype         TEXT NOT NULL,
    arch          TEXT NOT NULL,  -- e.g. "sm_90"
    nvrtc_version TEXT NOT NULL,
    lowered_name  TEXT NOT NULL,  -- the kernel's mangled name in the cubin
    digest        TEXT NOT NULL,  -- SHA-256 of cubin (hex), checked by the reader before loading
    cubin         BLOB NOT NULL,
    stored_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (template_hash, config, dtype, arch, nvrtc_version)
) STRICT;

-- Compiled NVRTC programs of tuning candidates (many kernels in one cubin), so that tuning
-- again, or tuning a new shape, skips the compiling. cache_key: SHA-256 of the arch, NVRTC
-- version, kernel source and instantiations; the digest is checked before use.
CREATE TABLE programs (
    cache_key     TEXT PRIMARY KEY,
    lowered_names TEXT NOT NULL,  -- one mangled name per line, in the order of the instantiations
    digest        TEXT NOT NULL,  -- SHA-256 of cubin (hex)
    cubin         BLOB NOT NULL,
    stored_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- The schema version; src/db/CMakeLists.txt reads this number as the newest schema the build knows.
PRAGMA user_version = 2;
