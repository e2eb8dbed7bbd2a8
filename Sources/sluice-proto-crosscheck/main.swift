fileprivate let placeholder = 0
