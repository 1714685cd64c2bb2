console.log('not json');
console.log(JSON.stringify({ name: 'pp_us', backend: 'sab', p: 2, value: 3, unit: 'us', better: 'lower', compare: { node: 'atomics_wait_pingpong_half_rtt_us', mpi4py: 'pingpong_8B_us' } }));
