import type { CopyJob, DownloadJob, UploadJob } from '../engine/model.js';
import { CheckpointedCopy } from './copy-session.js';
import { CheckpointedDownload } from './download-session.js';
import { CheckpointStore } from './store.js';
import { CheckpointedUpload, type UploadSessionDeps } from './upload-session.js';

/**
 * Checkpoint sessions for the transfers big enough to have parts. Loaded only
 * with --checkpoint-dir: without it, none of the checkpoint code (nor zod) loads.
 */
export function checkpointSessions(dir: string, deps: Omit<UploadSessionDeps, 'checkpoints'>) {
  const checkpoints = new CheckpointStore(dir);
  const all = { ...deps, checkpoints };
  return {
    checkpoints,
    uploadSession: (job: UploadJob) => (job.partSize === undefined ? undefined : new CheckpointedUpload(job, all)),
    downloadSession: (job: DownloadJob) => (job.partSize === undefined ? undefined : new CheckpointedDownload(job, all)),
    copySession: (job: CopyJob) => (job.partSize === undefined ? undefined : new CheckpointedCopy(job, all)),
  };
}
