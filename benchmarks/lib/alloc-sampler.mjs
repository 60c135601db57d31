// Preloaded only by --profile=…:alloc. The first SIGUSR2 starts V8's sampling heap profiler,
// keeping the objects that minor and major GCs collect (so the sample is what was allocated, not
// what survived); the second writes the .heapprofile into PERISCOPE_BENCH_PROFILE_DIR and exits.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const session = new Session();
session.connect();
let sampling = false;

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    const params = { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true };
    session.post('HeapProfiler.startSampling', params, (err) => {
      process.stderr.write(err ? `alloc-sampler: ${err.message}\n` : 'alloc-sampler: sampling allocations\n');
    });
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) writeFileSync(join(process.env.PERISCOPE_BENCH_PROFILE_DIR ?? '.', `alloc-${process.pid}.heapprofile`), JSON.stringify(result.profile));
    process.exit(0);
  });
});
