//! The learner's exercises (placeholder until the exercises land).
