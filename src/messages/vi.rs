//! Tiếng Việt (Vietnamese).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "Thành phố Yukuhashi",
        ServerTrouble => "Xin lỗi, đã xảy ra sự cố. Vui lòng thử lại sau ít phút.",
        NotFound => "Không tìm thấy trang này.",
        Back => "Quay lại",
        // Registration
        FieldRequired => "Vui lòng nhập “{field}”.",
        // Chat
        CallTheCity => "Để hỏi qua điện thoại, hãy gọi Tòa thị chính Yukuhashi ({number}).",
        // Emergency
        EmergencyHeading => "Thông tin khẩn cấp",
        // Notices and surveys
        StopNotices => "Ngừng nhận thông báo",
    }
}
