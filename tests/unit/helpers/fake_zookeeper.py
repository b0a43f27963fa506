# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An in-memory stand-in for module_utils.connection.zookeeper.ZooKeeper, for driving modules' main() in unit tests."""

import types


class NodeError(Exception):
    """Named like kazoo's exceptions so the code under test sees the same class names."""


def _error(name):
    return type(name, (NodeError,), {})()


class FakeZooKeeper:
    """Paths map to [data, version, mtime]; commit() is atomic and returns kazoo-shaped results."""

    def __init__(self, nodes=None, chroot="/kafka"):
        self.nodes = {}
        self.chroot = chroot
        self.hosts = "fake:2181" + chroot
        self.closed = False
        self.commits = []
        self.fail_commit_at = None  # index of the commit() call that reports a version conflict
        self.lose_answer_at = None  # index of the commit() call whose answer is lost (ConnectionLoss)
        self.apply_lost = True      # whether that commit was applied before the answer was lost
        self.after_commit = None    # called with the index of each applied commit: another writer's turn
        for path, data in (nodes or {}).items():
            self.put(path, data)

    def put(self, path, data):
        for depth in range(1, path.count("/")):
            parent = "/".join(path.split("/")[:depth + 1])
            self.nodes.setdefault(parent, [b"", 0, 0])
        self.nodes[path] = [data, 0, 1795699666110]

    def overwrite(self, path, data):
        """Another client's unconditional set_data: the version moves on, as in ZooKeeper."""
        self.nodes[path] = [data, self.nodes[path][1] + 1, 1795699667000]

    def data(self, path):
        return self.nodes[path][0] if path in self.nodes else None

    def read_nodes(self, paths):
        return [None if p not in self.nodes else
                (self.nodes[p][0], types.SimpleNamespace(version=self.nodes[p][1], mtime=self.nodes[p][2]))
                for p in paths]

    def read_data(self, paths, convert=None):
        found = [self.nodes[p][0] if p in self.nodes else None for p in paths]
        return convert(found) if convert else found

    def list_children(self, paths):
        result = []
        for path in paths:
            if path not in self.nodes:
                result.append(None)
                continue
            prefix = path.rstrip("/") + "/"
            result.append(sorted({p[len(prefix):].split("/")[0] for p in self.nodes if p.startswith(prefix)}))
        return result

    def commit(self, operations):
        index = len(self.commits)
        self.commits.append(list(operations))
        staged = {path: list(value) for path, value in self.nodes.items()}
        results = []
        failed = False
        for operation in operations:
            kind, path = operation[0], operation[1]
            outcome = None
            if kind == "set":
                if path not in staged:
                    outcome = _error("NoNodeError")
                elif operation[3] not in (-1, staged[path][1]) or self.fail_commit_at == index:
                    outcome = _error("BadVersionError")
                else:
                    staged[path] = [operation[2], staged[path][1] + 1, 1795699666999]
                    outcome = types.SimpleNamespace(version=staged[path][1])
            elif kind == "create":
                if path in staged:
                    outcome = _error("NodeExistsError")
                else:
                    staged[path] = [operation[2], 0, 1795699666999]
                    outcome = path
            elif kind == "delete":
                if path not in staged:
                    outcome = _error("NoNodeError")
                elif operation[2] not in (-1, staged[path][1]):
                    outcome = _error("BadVersionError")
                else:
                    del staged[path]
                    outcome = True
            failed = failed or isinstance(outcome, Exception)
            results.append(outcome)
        if failed:
            return [r if isinstance(r, Exception) else _error("RolledBackError") for r in results]
        if self.lose_answer_at == index:
            if self.apply_lost:
                self.nodes = staged
            raise _error("ConnectionLoss")
        self.nodes = staged
        if self.after_commit is not None:
            self.after_commit(index)
        return results

    def retry(self, func, *args, **kwargs):
        return func(*args, **kwargs)

    def close(self):
        self.closed = True
