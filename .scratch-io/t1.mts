import { TimestampMillisecond, Int64, Utf8, Dictionary, Int32, vectorFromArray, tableFromArrays, makeData, Bool } from 'apache-arrow';
console.log(new TimestampMillisecond().ArrayType.name, new Int64().ArrayType.name);
const v = vectorFromArray(['a', null, 'b'], new Dictionary(new Utf8(), new Int32()));
console.log(v.data[0].values, v.data[0].dictionary?.toArray(), v.data[0].nullBitmap, v.data[0].nullCount);
const t = vectorFromArray([1n, 2n], new TimestampMillisecond()); console.log(t.data[0].values, t.get(0), t.type.unit);
