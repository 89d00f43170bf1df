// SPDX-License-Identifier: MIT
//
// bench-channel's peer numbers: Node's (or Bun's) child_process.fork IPC on
// the same messages as bench/bench_channel.c (a 16-byte round trip, one-way
// 64-byte messages), one JSON line on stdout. Run with node or bun:
//   node bench/bench_channel_node.js [json|advanced]
//   bun bench/bench_channel_node.js
'use strict';
const { fork } = require('child_process');

const ROUND_TRIPS = 20000;
const ONE_WAY = 200000;
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS) || 5; // bench-channel --peer runs 1

if (process.argv[2] === 'child') {
  process.on('message', (m) => {
    if (m === 'flood') {
      const payload = 'x'.repeat(64);
      let sent = 0;
      const pump = () => {
        while (sent < ONE_WAY) {
          sent++;
          if (!process.send(payload) && sent < ONE_WAY) {
            setImmediate(pump); // backpressure, as far as the runtime reports any
            return;
          }
        }
        process.send('end');
      };
      pump();
    } else if (m === 'exit') {
      process.disconnect();
    } else {
      process.send(m);
    }
  });
  return;
}

const serialization = process.argv[2] === 'advanced' ? 'advanced' : 'json';

function start() {
  return fork(__filename, ['child'], { serialization });
}

function roundTrips(child) {
  return new Promise((resolve) => {
    const msg = '0123456789abcdef';
    let left = ROUND_TRIPS;
    const t0 = process.hrtime.bigint();
    child.on('message', function onMessage() {
      if (--left === 0) {
        child.off('message', onMessage);
        resolve(Number(process.hrtime.bigint() - t0) / 1e9 / ROUND_TRIPS);
      } else {
        child.send(msg);
      }
    });
    child.send(msg);
  });
}

function oneWay(child) {
  return new Promise((resolve) => {
    let count = 0;
    const t0 = process.hrtime.bigint();
    child.on('message', function onMessage(m) {
      if (m === 'end') {
        child.off('message', onMessage);
        resolve(count / (Number(process.hrtime.bigint() - t0) / 1e9));
      } else {
        count++;
      }
    });
    child.send('flood');
  });
}

function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

(async () => {
  const rt = [];
  const rate = [];
  // One round first that is not counted: the parent's code is compiled
  // (JIT) by then, as it is in a program that has run for a while.
  for (let i = -1; i < ROUNDS; i++) {
    const child = start();
    const t = await roundTrips(child);
    const r = await oneWay(child);
    if (i >= 0) {
      rt.push(t);
      rate.push(r);
    }
    child.send('exit');
    await new Promise((resolve) => child.on('exit', resolve));
  }
  const runtime = typeof Bun !== 'undefined' ? `bun ${Bun.version}` : `node ${process.version}`;
  console.log(JSON.stringify({
    benchmark: 'channel-peer',
    runtime,
    serialization,
    round_trip_us: median(rt) * 1e6,
    one_way_msgs_per_s: Math.round(median(rate)),
  }));
})();
