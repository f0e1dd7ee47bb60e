// Binary search over ascending arrays (numbers or strings, compared with `<`).

/** First index i with values[i] >= value (values.length when there is none). */
export function lowerBound<T extends number | string>(values: ArrayLike<T>, value: T): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with values[i] > value (values.length when there is none). */
export function upperBound<T extends number | string>(values: ArrayLike<T>, value: T): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
