//! Process trees (chapter 8): who started whom in one run of `demo start-methods`, each box a
//! real process with its name and PID, each line a parent and the child it started, spawned
//! or forked. Drawn from the tree the demo records with `record::result("start-methods", &tree)`.

use super::INK;
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use super::{Figure, Record};

/// The demo whose recorded result is a [`Tree`].
pub const DEMO: &str = "start-methods";

/// One process of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Its name as the run's output tags it ("Process-1"), or what it is ("fork child").
    pub name: String,
    pub pid: u32,
    /// The PID of the process that started it; `None` for the root.
    pub parent: Option<u32>,
    /// How its parent started it: "spawn", "fork", or "" for the root.
    pub how: String,
    /// A few words on what it did ("wrote 1 MiB"), or "".
    #[serde(default)]
    pub note: String,
}

/// The processes of one run, parents before their children.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// The Python script of chapter 8 whose output is drawn as a tree by [`from_python`].
pub const PYTHON_SCRIPT: &str = "08_start_methods.py";

/// The tree `python3 08_start_methods.py` printed: the main program, and one child per start
/// method, each under the PID its `os.getppid()` gave. A parent that is not the main program
/// is forkserver's server (which the main program started first): it goes in between. `None`
/// when the output does not hold the main program's line.
pub fn from_python(output: &str) -> Option<Tree> {
    let number = |text: &str| -> Option<u32> {
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())?
            .parse()
            .ok()
    };
    let main = output
        .lines()
        .find_map(|l| l.strip_prefix("main program: pid "))
        .and_then(number)?;
    let mut tree = Tree::default();
    tree.add("main program", main, None, "", "");
    for line in output.lines() {
        let Some(rest) = line.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((method, rest)) = rest.split_once("] child pid ") else {
            continue;
        };
        let Some(pid) = number(rest) else { continue };
        let tag = format!("[{method}] its parent: os.getppid() ");
        let Some(ppid) = (output.lines())
            .find_map(|l| l.trim_start().strip_prefix(tag.as_str()))
            .and_then(number)
        else {
            continue;
        };
        let name = (output.lines())
            .find_map(|l| l.strip_prefix(&format!("{method}: ")))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("child");
        let how = if method == "spawn" { "spawn" } else { "fork" };
        if ppid != main && !tree.nodes.iter().any(|n| n.pid == ppid) {
            // Started by the main program as a fresh interpreter, as spawn starts a child.
            tree.add("fork server", ppid, Some(main), "spawn", "for forkserver");
        }
        tree.add(
            name,
            pid,
            Some(ppid),
            how,
            &format!("start method {method}"),
        );
    }
    Some(tree)
}

impl Tree {
    /// Add a process started by `parent` (`None` for the root).
    pub fn add(&mut self, name: &str, pid: u32, parent: Option<u32>, how: &str, note: &str) {
        self.nodes.push(Node {
            name: name.to_string(),
            pid,
            parent,
            how: how.to_string(),
            note: note.to_string(),
        });
    }
}

// A row per process, each generation indented one step, as `pstree` and procbook's `sys`
// print it: the figure stays narrow enough for one of the book's two columns.
const INDENT: i32 = 30;
const BOX_W: i32 = 300;
const BOX_H: i32 = 46;
const ROW: i32 = 54;
const MARGIN: i32 = 6;
const FONT: (&str, u32) = ("sans-serif", 17);
const SPAWN: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
const FORK: RGBColor = RGBColor(0xF2, 0x8E, 0x2B);

/// Where a node sits: its generation (indent) and its row.
#[derive(Debug, Clone, PartialEq)]
struct Placed {
    index: usize,
    depth: usize,
    row: usize,
}

/// A row per process, parents before their children, children in the order they were started,
/// each generation indented one step. Nodes whose parent is not in the tree are drawn as roots.
fn layout(tree: &Tree) -> Vec<Placed> {
    fn place(tree: &Tree, index: usize, depth: usize, out: &mut Vec<Placed>) {
        let pid = tree.nodes[index].pid;
        out.push(Placed {
            index,
            depth,
            row: out.len(),
        });
        for child in
            (0..tree.nodes.len()).filter(|&i| i != index && tree.nodes[i].parent == Some(pid))
        {
            // A PID seen twice (a cycle in bad data) is drawn once.
            if !out.iter().any(|p| p.index == child) {
                place(tree, child, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    for (i, node) in tree.nodes.iter().enumerate() {
        let is_root = node
            .parent
            .is_none_or(|p| !tree.nodes.iter().any(|n| n.pid == p && n.pid != node.pid));
        if is_root && !out.iter().any(|p: &Placed| p.index == i) {
            place(tree, i, 0, &mut out);
        }
    }
    out
}

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the process tree", e)
}

/// "spawned" for "spawn", "forked" for "fork".
fn started(how: &str) -> String {
    match how {
        "" => "started the run".to_string(),
        "spawn" => "spawned".to_string(),
        "fork" => "forked".to_string(),
        other => other.to_string(),
    }
}

fn colour(how: &str) -> RGBColor {
    match how {
        "spawn" => SPAWN,
        "fork" => FORK,
        _ => INK,
    }
}

/// The figure from the last `start-methods` result among `records`; `None` when there is none.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let Some(data) = records.iter().rev().find_map(|r| match r {
        Record::Result { demo, data } if demo == DEMO => Some(data),
        _ => None,
    }) else {
        return Ok(None);
    };
    let tree: Tree = serde_json::from_value(data.clone()).context("reading the process tree")?;
    draw_tree(&tree)
}

/// The figure of a tree; `None` when it has no process.
pub fn draw_tree(tree: &Tree) -> Result<Option<Figure>> {
    if tree.nodes.is_empty() {
        return Ok(None);
    }
    let placed = layout(tree);
    let depth = placed.iter().map(|p| p.depth).max().unwrap_or(0) as i32;
    let rows = placed.len() as i32;
    let width = 2 * MARGIN + depth * INDENT + BOX_W;
    let height = 2 * MARGIN + rows * ROW - (ROW - BOX_H);
    let corner = |p: &Placed| {
        let x = MARGIN + p.depth as i32 * INDENT;
        let y = MARGIN + p.row as i32 * ROW;
        (x, y)
    };

    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width as u32, height as u32)).into_drawing_area();
        // Edges first, under the boxes: from the parent's bottom side, half an indent in,
        // down to the child's row, and into its left side.
        for p in &placed {
            let node = &tree.nodes[p.index];
            let Some(parent) = placed
                .iter()
                .find(|q| Some(tree.nodes[q.index].pid) == node.parent && q.index != p.index)
            else {
                continue;
            };
            let (px, py) = corner(parent);
            let (cx, cy) = corner(p);
            let (from, to) = ((px + INDENT / 2, py + BOX_H), (cx, cy + BOX_H / 2));
            root.draw(&PathElement::new(
                vec![from, (from.0, to.1), to],
                colour(&node.how).stroke_width(2),
            ))
            .map_err(drawn)?;
        }
        for p in &placed {
            let node = &tree.nodes[p.index];
            let (x, y) = corner(p);
            // A closed path, not a Rectangle: plotters' SVG drops an outline's width.
            root.draw(&PathElement::new(
                vec![
                    (x, y),
                    (x + BOX_W, y),
                    (x + BOX_W, y + BOX_H),
                    (x, y + BOX_H),
                    (x, y),
                ],
                colour(&node.how).stroke_width(3),
            ))
            .map_err(drawn)?;
            let font = FONT
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Top));
            root.draw(&Text::new(
                format!("{} · pid {}", node.name, node.pid),
                (x + 7, y + 4),
                font.clone(),
            ))
            .map_err(drawn)?;
            let mut second = started(&node.how);
            if !node.note.is_empty() {
                second = format!("{second}, {}", node.note);
            }
            root.draw(&Text::new(second, (x + 7, y + 25), font))
                .map_err(drawn)?;
        }
        root.present().map_err(drawn)?;
    }

    let count = |how: &str| tree.nodes.iter().filter(|n| n.how == how).count();
    let root_node = &tree.nodes[placed[0].index];
    let mut summary = format!(
        "The {} processes of this run, each with the PID it had: {} (pid {}) at the root, \
         {} spawned (a fresh start of the program, blue) and {} forked (a copy of its parent, \
         orange)",
        tree.nodes.len(),
        root_node.name,
        root_node.pid,
        count("spawn"),
        count("fork"),
    );
    if let Some(server) = tree.nodes.iter().find(|n| n.name == "fork server") {
        summary.push_str(&format!(
            "; the fork server (pid {}) stands between the main program and forkserver's \
             child, whose os.getppid() is the server's PID",
            server.pid
        ));
    }
    summary.push_str(". Each line joins a parent to a child it started.");
    let mut table = vec![
        ["process", "pid", "parent pid", "started by"]
            .map(String::from)
            .to_vec(),
    ];
    for node in &tree.nodes {
        table.push(vec![
            node.name.clone(),
            node.pid.to_string(),
            node.parent.map_or("-".into(), |p| p.to_string()),
            started(&node.how),
        ]);
    }
    Ok(Some(Figure {
        title: "Who started whom: spawn and fork".to_string(),
        summary,
        svg,
        table,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        let mut tree = Tree::default();
        tree.add("MainProcess", 100, None, "", "");
        tree.add("Process-1", 101, Some(100), "spawn", "");
        tree.add("Process-2", 102, Some(100), "spawn", "");
        tree.add(
            "SpawnPoolWorker-3",
            103,
            Some(100),
            "spawn",
            "the fork helper",
        );
        tree.add("fork child", 104, Some(103), "fork", "");
        tree.add("fork child", 105, Some(103), "fork", "wrote 1 MiB");
        tree
    }

    fn records(tree: &Tree) -> Vec<Record> {
        vec![Record::Result {
            demo: DEMO.into(),
            data: serde_json::to_value(tree).unwrap(),
        }]
    }

    #[test]
    fn every_process_is_a_box_with_its_pid_and_a_line_from_its_parent() {
        let tree = tree();
        let figure = draw(&records(&tree)).unwrap().expect("a figure");
        for node in &tree.nodes {
            assert!(
                figure
                    .svg
                    .contains(&format!("\n{} · pid {}\n", node.name, node.pid)),
                "no box for pid {}: {}",
                node.pid,
                figure.svg
            );
        }
        assert_eq!(
            figure.svg.matches("stroke-width=\"3\"").count(),
            tree.nodes.len(),
            "a box per process"
        );
        // One line per child, in the colour of how it was started: every node but the root
        // has its parent's edge, which ends at the child's box.
        let edges: Vec<&str> = (figure.svg.lines())
            .filter(|l| l.contains("<polyline") && l.contains("stroke-width=\"2\""))
            .collect();
        assert_eq!(edges.len(), tree.nodes.len() - 1, "{}", figure.svg);
        assert_eq!(edges.iter().filter(|e| e.contains("#F28E2B")).count(), 2);
        // Where each PID's box is, from its label's position.
        let boxes = |pid: u32| -> (i32, i32) {
            let lines: Vec<&str> = figure.svg.lines().collect();
            let at = (lines.iter())
                .position(|l| l.ends_with(&format!(" · pid {pid}")))
                .expect("a label");
            let attr = |name: &str| -> i32 {
                let rest = lines[at - 1].split(&format!(" {name}=\"")).nth(1).unwrap();
                rest.split('"').next().unwrap().parse().unwrap()
            };
            (attr("x") - 7, attr("y") - 4)
        };
        for node in &tree.nodes[1..] {
            let (px, py) = boxes(node.parent.unwrap());
            let (cx, cy) = boxes(node.pid);
            let from = format!("points=\"{},{} ", px + INDENT / 2, py + BOX_H);
            let to = format!(" {},{} \"", cx, cy + BOX_H / 2);
            assert!(
                edges.iter().any(|e| e.contains(&from) && e.contains(&to)),
                "no line from pid {:?} to pid {}: {edges:?}",
                node.parent,
                node.pid
            );
        }
        assert!(figure.svg.contains("forked, wrote 1 MiB"), "{}", figure.svg);
        assert_eq!(figure.table.len(), tree.nodes.len() + 1);
        assert_eq!(figure.table[5], ["fork child", "104", "103", "forked"]);
        assert!(figure.summary.contains("3 spawned"), "{}", figure.summary);
        assert!(figure.summary.contains("2 forked"), "{}", figure.summary);
    }

    #[test]
    fn each_process_has_a_row_below_its_parent_one_step_in() {
        let placed = layout(&tree());
        let rows: Vec<(u32, usize, usize)> = (placed.iter())
            .map(|p| (tree().nodes[p.index].pid, p.depth, p.row))
            .collect();
        // Parents first, then their children in the order started (103's under 103).
        assert_eq!(
            rows,
            [
                (100, 0, 0),
                (101, 1, 1),
                (102, 1, 2),
                (103, 1, 3),
                (104, 2, 4),
                (105, 2, 5)
            ]
        );
        // Narrow enough for a column of the book: a box and two indents.
        let figure = draw_tree(&tree()).unwrap().unwrap();
        let width = 2 * MARGIN + 2 * INDENT + BOX_W;
        assert!(
            figure.svg.contains(&format!("width=\"{width}\"")),
            "{}",
            figure.svg
        );
        assert!(width < 400);
    }

    #[test]
    fn bad_data_is_drawn_without_a_loop_or_is_none() {
        let mut tree = Tree::default();
        tree.add("a", 1, Some(2), "fork", "");
        tree.add("b", 2, Some(1), "fork", "");
        tree.add("orphan", 3, Some(99), "spawn", "");
        // A cycle has no root: nothing of it is placed, but the orphan is.
        let placed = layout(&tree);
        assert_eq!(placed.len(), 1);
        assert!(draw(&records(&Tree::default())).unwrap().is_none());
        assert!(draw(&[]).unwrap().is_none());
    }

    #[test]
    fn pythons_output_gives_a_tree_with_the_fork_server_in_between() {
        let output = "  (module imported as '__main__' in pid 100)
main program: pid 100; default start method here: fork
  [fork] child pid 110: __name__ is '__main__', SETTING is 'changed'
  [fork] its parent: os.getppid() 100, multiprocessing.parent_process() 100
fork: ForkProcess-1 started, ran and exited in 9 ms
  [spawn] child pid 120: __name__ is '__mp_main__', SETTING is 'as written'
  [spawn] its parent: os.getppid() 100, multiprocessing.parent_process() 100
spawn: SpawnProcess-2 started, ran and exited in 102 ms
  [forkserver] child pid 140: __name__ is '__mp_main__', SETTING is 'as written'
  [forkserver] its parent: os.getppid() 130, multiprocessing.parent_process() 100
forkserver: ForkServerProcess-3 started, ran and exited in 83 ms
";
        let tree = from_python(output).expect("a tree");
        let rows: Vec<(&str, u32, Option<u32>, &str)> = (tree.nodes.iter())
            .map(|n| (n.name.as_str(), n.pid, n.parent, n.how.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("main program", 100, None, ""),
                ("ForkProcess-1", 110, Some(100), "fork"),
                ("SpawnProcess-2", 120, Some(100), "spawn"),
                ("fork server", 130, Some(100), "spawn"),
                ("ForkServerProcess-3", 140, Some(130), "fork"),
            ]
        );
        let figure = draw_tree(&tree).unwrap().expect("a figure");
        assert!(
            figure.summary.contains("fork server (pid 130)"),
            "{}",
            figure.summary
        );
        // Without the main program's line there is nothing to hang the tree on.
        assert!(from_python("hello\n").is_none());
    }
}
