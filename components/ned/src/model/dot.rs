//! The component graph of a script that ran through the [`Model`], in
//! Graphviz's DOT: one box per started program (command line, log tag,
//! priority when not the default), one small circle per channel, a node
//! per `L4.Env` cap used, and an edge from each object to each program
//! holding a cap to it, labelled `name [rights]`. Server ends are bold;
//! log edges are dashed, their tag in the log's colour.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use super::Model;
use crate::value::{DEFAULT_PRIO, rights_str};
use crate::{Cap, LogSpec, Obj};

impl Model {
    /// The graph as DOT text, titled `title` (the script's name).
    pub fn dot(&self, title: &str) -> String {
        let mut g = Graph::default();
        for ch in &self.channels {
            let at = format!("made at {}", ch.at);
            let attrs = format!(
                "shape=circle, fixedsize=true, width=0.45, fontsize=10, label=\"ch{}\", \
                 tooltip=\"{}\"",
                ch.id,
                esc(&at)
            );
            g.node(&format!("c{}", ch.id), &attrs);
        }
        for t in &self.tasks {
            let req = &t.req;
            let tn = format!("t{}", t.id);
            let mut label = esc(&req.cmdline);
            match &req.log {
                LogSpec::Tagged { tag, .. } => label += &format!("\\nlog: {}", esc(tag)),
                LogSpec::Cap(c) => label += &format!("\\nlog: {}", esc(&super::object_name(c))),
            }
            if req.prio != DEFAULT_PRIO {
                label += &format!("\\nprio {}", req.prio);
            }
            let at = format!("started at {}", req.at);
            g.node(&tn, &format!("shape=box, label=\"{label}\", tooltip=\"{}\"", esc(&at)));
            for (name, cap) in &req.caps {
                let from = g.object(cap, &tn, name);
                let bold = if matches!(cap.obj, Obj::Channel { server: true, .. }) {
                    ", style=bold"
                } else {
                    ""
                };
                let label = format!("{name} [{}]", rights_str(cap.rights));
                g.edge(&from, &tn, &format!("label=\"{}\"{bold}", esc(&label)));
            }
            match (&req.log, &req.log_fab) {
                (LogSpec::Tagged { tag, colour }, fab) => {
                    let from = match fab {
                        Some(f) => {
                            let fab_node = g.object(f, "loader", "log_fab");
                            let label = format!("log_fab [{}]", rights_str(f.rights));
                            g.node("loader", "shape=component, label=\"L4.default_loader\"");
                            let e = format!("label=\"{}\"", esc(&label));
                            g.edge(&fab_node, "loader", &e);
                            fab_node
                        }
                        None => g.env("log"),
                    };
                    let c = dot_colour(colour);
                    let e = format!(
                        "label=\"log: {}\", fontcolor=\"{c}\", color=\"{c}\", style=dashed",
                        esc(tag)
                    );
                    g.edge(&from, &tn, &e);
                }
                (LogSpec::Cap(c), _) => {
                    let from = g.object(c, &tn, "log");
                    let label = format!("log [{}]", rights_str(c.rights));
                    g.edge(&from, &tn, &format!("label=\"{}\", style=dashed", esc(&label)));
                }
            }
        }
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", esc(title));
        let _ = writeln!(out, "  label=\"{}\";\n  labelloc=t;\n  rankdir=LR;", esc(title));
        out += "  node [fontname=\"monospace\"];\n  edge [fontname=\"monospace\", fontsize=10];\n";
        for line in g.lines {
            let _ = writeln!(out, "  {line}");
        }
        out += "}\n";
        out
    }
}

/// Nodes and edges, each node written once.
#[derive(Default)]
struct Graph {
    lines: Vec<String>,
    nodes: BTreeSet<String>,
}

impl Graph {
    fn node(&mut self, id: &str, attrs: &str) {
        if self.nodes.insert(id.into()) {
            self.lines.push(format!("\"{id}\" [{attrs}];"));
        }
    }

    fn edge(&mut self, from: &str, to: &str, attrs: &str) {
        let line = format!("\"{from}\" -> \"{to}\" [{attrs}];");
        if !self.lines.contains(&line) {
            self.lines.push(line);
        }
    }

    /// The node of `L4.Env.<name>`.
    fn env(&mut self, name: &str) -> String {
        let id = format!("env_{name}");
        let attrs = format!("shape=hexagon, label=\"L4.Env.{}\"", esc(name));
        self.node(&id, &attrs);
        id
    }

    /// The node of the object `cap` refers to; objects made for one
    /// program (RAM) get a node per `holder` and cap `name`.
    fn object(&mut self, cap: &Cap, holder: &str, name: &str) -> String {
        let (id, label) = match &cap.obj {
            Obj::Channel { id, .. } => return format!("c{id}"),
            Obj::Env { name, .. } => return self.env(name),
            Obj::Mmio { addr, size } => {
                (format!("mmio_{addr:x}_{size:x}"), format!("mmio({addr:#x}, {size:#x})"))
            }
            Obj::Irq { irq } => (format!("irq_{irq}"), format!("irq({irq})")),
            Obj::Ram { bytes } => (format!("ram_{holder}_{name}"), format!("ram({bytes:#x})")),
        };
        self.node(&id, &format!("shape=hexagon, label=\"L4.Env.{}\"", esc(&label)));
        id
    }
}

/// `s` inside a DOT string.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A Graphviz colour for a log colour name, readable on white.
fn dot_colour(name: &str) -> &'static str {
    match name {
        "black" => "black",
        "red" => "red3",
        "green" => "green4",
        "yellow" => "goldenrod3",
        "blue" => "blue3",
        "magenta" => "magenta3",
        "cyan" => "cyan4",
        "Black" => "gray30",
        "Red" => "red",
        "Green" => "green3",
        "Yellow" => "gold",
        "Blue" => "blue",
        "Magenta" => "magenta",
        "Cyan" => "cyan3",
        "White" => "gray70",
        _ => "gray50",
    }
}
