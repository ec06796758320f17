//! Exercise 9: functions travel by name.
//!
//! Book: chapter 8, "Start methods and the `__main__` guard" (book/src/08-start-methods.md).
//!
//! A reference solution: the parent sends a name, and the worker finds the function under that
//! name in its own table.

/// A task a worker can run: a plain function, found by its name.
pub type Task = fn(u64) -> u64;

/// The line that asks a worker to run task `name` on `arg`.
pub fn request(name: &str, arg: u64) -> String {
    format!("{name} {arg}\n")
}

/// Runs the task a request line names, looked up in `tasks`, on the line's argument.
pub fn serve(tasks: &[(&str, Task)], line: &str) -> Result<u64, String> {
    let (name, arg) = line
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("not a request, NAME NUMBER: {line:?}"))?;
    let arg: u64 = arg
        .trim()
        .parse()
        .map_err(|e| format!("the argument {arg:?} is not a number: {e}"))?;
    let task = tasks
        .iter()
        .find(|(known, _)| *known == name)
        .map(|&(_, task)| task)
        .ok_or_else(|| format!("Can't get attribute '{name}': no task has that name"))?;
    Ok(task(arg))
}
