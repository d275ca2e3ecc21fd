// alloc: known call paths to an allocation in Rust, for comparing memprof's
// stacks with gdb's (tests/shell/t0402-stacks-rust.sh):
//
//   main -> middle -> make -> vec![1u8; 12345] (through the std library's
//                             inlined allocation functions) -> malloc
//   main -> a thread: closure -> middle -> make -> vec![1u8; 12346] -> malloc
//
// Built without frame pointers, as rustc builds by default.

#[inline(never)]
fn make(n: usize) -> Vec<u8> {
    vec![1u8; n]
}

#[inline(never)]
fn middle(n: usize) -> Vec<u8> {
    let v = make(n);
    // Read through a volatile pointer, so that nothing is optimised away.
    unsafe { std::ptr::read_volatile(&v[0]) };
    v
}

fn main() {
    let v = middle(12345);
    let t = std::thread::spawn(|| middle(12346).len());
    let n = t.join().unwrap();
    println!("alloc: {} {}", v.len(), n);
}
