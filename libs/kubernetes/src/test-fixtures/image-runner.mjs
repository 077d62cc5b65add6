// What the fake kubelet runs for /opt/trainyard/runner.js in libs/kubernetes's tests: not the
// real runner (no Trainyard server here), a stand-in that shows what the pod was given and
// behaves as FAKE_RUNNER_MODE asks: `quick` (exit 0), `fail` (exit 3), `slow` (a line every
// 50 ms for FAKE_RUNNER_LINES lines, then exit 0). SIGTERM: says so and exits 143.
const mode = process.env.FAKE_RUNNER_MODE ?? 'quick';
console.log(`args ${process.argv.slice(2).join(' ')}`);
console.log(`token ${process.env.TRAINYARD_JOB_TOKEN ? 'present' : 'missing'} length ${(process.env.TRAINYARD_JOB_TOKEN ?? '').length}`);
console.log(`cwd ${process.cwd()}`);
process.on('SIGTERM', () => {
  console.log('got SIGTERM');
  setTimeout(() => process.exit(143), 100);
});
if (mode === 'fail') {
  console.error('trainer failed');
  process.exit(3);
}
if (mode === 'slow') {
  const lines = Number(process.env.FAKE_RUNNER_LINES ?? 40);
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    console.log(`line ${n}`);
    if (n >= lines) {
      clearInterval(timer);
      console.log('done');
    }
  }, 50);
} else console.log('done');
