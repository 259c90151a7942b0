//! `uniffiCloneHandle` of `HopsafeClient` and `CancelHandle` through the binding's direct
//! clone (`DirectClone.kt`, `bindings/uniffi/src/direct_clone.rs`) instead of uniffi's clone
//! call, which passes a call status as a JNA `Structure` (written and read back by reflection).
//! Every call on a client clones its handle, so a request paid that on top of its own call.

/// uniffi 0.32's body of `uniffiCloneHandle` for `name` (its lower-case FFI name).
fn template(name: &str) -> String {
    format!(
        "        return uniffiRustCall() {{ status ->
            UniffiLib.uniffi_hopsafe_ffi_fn_clone_{name}(handle, status)
        }}
"
    )
}

/// The body calling `DirectClone.hopsafe_kt_clone_{short}`.
fn direct(short: &str) -> String {
    format!(
        "        // hopsafe (bindings/uniffi/bindgen/src/clone_direct.rs): no JNA Structure.
        return DirectClone.hopsafe_kt_clone_{short}(handle)
"
    )
}

/// The objects whose clone goes direct: uniffi's name and the direct function's.
const OBJECTS: [(&str, &str); 2] = [("hopsafeclient", "client"), ("cancelhandle", "cancel")];

/// `text` (the generated Kotlin) with those clones direct; an error when one is not rendered
/// as expected (a uniffi upgrade changed it) or is there twice.
pub fn clones_direct(text: &str) -> Result<String, String> {
    let mut text = text.to_owned();
    for (name, short) in OBJECTS {
        let what = format!("the clone of {name}");
        text = crate::replace_once(&text, &what, &template(name), &direct(short))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clones_are_replaced_and_nothing_else() {
        let other = template("responsebody");
        let text = format!(
            "a\n{}b\n{}c\n{other}",
            template("hopsafeclient"),
            template("cancelhandle")
        );
        let out = clones_direct(&text).unwrap();
        assert_eq!(
            out,
            format!("a\n{}b\n{}c\n{other}", direct("client"), direct("cancel"))
        );
        assert!(out.contains("uniffi_hopsafe_ffi_fn_clone_responsebody"));
    }

    #[test]
    fn a_clone_it_does_not_recognise_is_an_error() {
        assert!(clones_direct(&template("hopsafeclient")).is_err());
        let twice = format!("{}{}", template("hopsafeclient"), template("hopsafeclient"));
        assert!(clones_direct(&format!("{twice}{}", template("cancelhandle"))).is_err());
    }
}
