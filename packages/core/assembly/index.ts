// Placeholder: the scanner lands in the next commit.
export function version(): i32 {
  return 1;
}
