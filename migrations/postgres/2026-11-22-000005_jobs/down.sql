DROP TABLE import_keys;
DROP TABLE checkpoint_heads;
DROP TABLE checkpoints;
DROP TABLE job_runs;
