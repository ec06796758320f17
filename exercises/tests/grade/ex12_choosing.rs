//! Grades exercise 12: workloads classified, and threads or processes chosen for the right reason.

use crate::ex12_choosing::{Language, Pick, Reason, Workload, choose, classify};
use crate::learner::call;
use crate::message::fill;

const EXERCISE: &str = "ex12_choosing";
/// `(cpu_ms, wait_ms, workload)`, edges included: exactly 4 times is enough.
const CLASSES: [(u64, u64, Workload); 8] = [
    (100, 0, Workload::CpuBound),
    (80, 20, Workload::CpuBound),
    (79, 21, Workload::Mixed),
    (50, 50, Workload::Mixed),
    (30, 70, Workload::Mixed),
    (20, 80, Workload::IoBound),
    (10, 90, Workload::IoBound),
    (0, 100, Workload::IoBound),
];
/// The right choice for each workload in each language.
const CHOICES: [(Workload, Language, Pick, Reason); 6] = [
    (
        Workload::CpuBound,
        Language::Python,
        Pick::Processes,
        Reason::GilSerializesComputing,
    ),
    (
        Workload::Mixed,
        Language::Python,
        Pick::Processes,
        Reason::GilSerializesComputing,
    ),
    (
        Workload::IoBound,
        Language::Python,
        Pick::Threads,
        Reason::WaitingReleasesGil,
    ),
    (
        Workload::CpuBound,
        Language::Rust,
        Pick::Threads,
        Reason::NoGil,
    ),
    (
        Workload::Mixed,
        Language::Rust,
        Pick::Threads,
        Reason::NoGil,
    ),
    (
        Workload::IoBound,
        Language::Rust,
        Pick::Threads,
        Reason::NoGil,
    ),
];

const CLASSIFIED: &str = "classify({}, {}) gave {}, but a task that computes {} ms and waits {} ms \
is {}: CPU-bound means computing at least 4 times as long as waiting, I/O-bound waiting at \
least 4 times as long as computing.";
const PICKED: &str = "for {} work in {} you picked {}; pick {}. {}";
const WHY_PROCESSES: &str = "In Python only the thread holding the GIL computes, so computing \
threads take turns on one core; processes have a GIL each.";
const WHY_THREADS_WAITING: &str = "A Python thread lets go of the GIL while it waits, so threads \
wait together, and they cost less than processes.";
const WHY_RUST: &str = "Rust has no GIL: its threads compute on every core at once, and share \
memory without copying it through pipes.";
const REASONED: &str = "for {} work in {} you picked {}, rightly, but the reason {} is not \
it. {}";
const MYTH_RACE: &str = "Processes can race too: on a file, on shared memory, on the order their \
output reaches a pipe. That one is a myth.";
const MYTH_MORE: &str = "More processes than cores only add costs: starting them, and copying \
data to and from them. That one is a myth.";
const OTHER_REASON: &str = "Ask what stops threads from using every core here.";

pub fn check() -> Result<(), String> {
    for (cpu_ms, wait_ms, want) in CLASSES {
        let got = call(EXERCISE, "classify", || classify(cpu_ms, wait_ms))?;
        if got != want {
            return Err(fill(
                CLASSIFIED,
                &[
                    &cpu_ms,
                    &wait_ms,
                    &debug(got),
                    &cpu_ms,
                    &wait_ms,
                    &debug(want),
                ],
            ));
        }
    }
    for (workload, language, pick, reason) in CHOICES {
        let (picked, why) = call(EXERCISE, "choose", || choose(workload, language))?;
        if picked != pick {
            let explain = match (language, pick) {
                (Language::Rust, _) => WHY_RUST,
                (Language::Python, Pick::Processes) => WHY_PROCESSES,
                (Language::Python, Pick::Threads) => WHY_THREADS_WAITING,
            };
            return Err(fill(
                PICKED,
                &[
                    &debug(workload),
                    &debug(language),
                    &debug(picked),
                    &debug(pick),
                    &explain,
                ],
            ));
        }
        if why != reason {
            let explain = match why {
                Reason::ProcessesCannotRace => MYTH_RACE,
                Reason::MoreProcessesAreAlwaysFaster => MYTH_MORE,
                _ => OTHER_REASON,
            };
            return Err(fill(
                REASONED,
                &[
                    &debug(workload),
                    &debug(language),
                    &debug(picked),
                    &debug(why),
                    &explain,
                ],
            ));
        }
    }
    Ok(())
}

fn debug(value: impl std::fmt::Debug) -> String {
    format!("{value:?}")
}
