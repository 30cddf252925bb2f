;; externref arguments and results: the recorder numbers host values, the same value always
;; gets the same id (also when an import returns it), null stays null.
(module
  (import "env" "favourite" (func $favourite (result externref)))
  (func (export "id") (param externref) (result externref) (local.get 0))
  (func (export "favourite") (result externref) (call $favourite))
  (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0))))
