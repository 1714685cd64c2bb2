/** The codec of object messages and packages (msgpack), shared by comm and the BSP runtime. */
import { Packr } from 'msgpackr';

/** msgpackr must run with moreTypes, or it silently corrupts typed arrays (see ECOSYSTEM.md). */
export const packr = new Packr({ moreTypes: true, useRecords: false });
