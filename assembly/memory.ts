// Heap entry points for the JavaScript side: regions it fills and reads (staging, read buffers,
// descriptor arrays). Only pointers and sizes cross the boundary.

export function alloc(size: usize): usize {
  return heap.alloc(size);
}

export function realloc(ptr: usize, size: usize): usize {
  return heap.realloc(ptr, size);
}

export function free(ptr: usize): void {
  heap.free(ptr);
}
