extension Google_Protobuf_FieldMask: ExpressibleByArrayLiteral {
    /// A mask of `paths` (dotted snake_case field paths).
    public init(paths: [String]) {
        self.init()
        self.paths = paths
    }

    public init(arrayLiteral paths: String...) {
        self.init(paths: paths)
    }

    /// Whether `path` is covered: listed itself, or under a listed parent (`a` covers `a.b`).
    public func covers(_ path: String) -> Bool {
        paths.contains { path == $0 || path.hasPrefix($0 + ".") }
    }

    /// The canonical form: sorted, duplicates and paths covered by a parent removed.
    public var canonical: Self {
        var result: [String] = []
        for path in Set(paths).sorted() where !result.contains(where: { path.hasPrefix($0 + ".") }) {
            result.append(path)
        }
        return Self(paths: result)
    }

    /// Paths covered by either mask.
    public func union(_ other: Self) -> Self {
        Self(paths: paths + other.paths).canonical
    }

    /// Paths covered by both masks.
    public func intersection(_ other: Self) -> Self {
        var result: [String] = []
        for path in paths where other.covers(path) { result.append(path) }
        for path in other.paths where covers(path) { result.append(path) }
        return Self(paths: result).canonical
    }
}
