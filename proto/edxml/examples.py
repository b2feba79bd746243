#!/usr/bin/env python3
"""Writes the example edXML packages of proto/edxml/examples/ (run from this folder).

Each is a package as an e-office system sends it on the national document axis (QCVN 102:2016,
amended 2022), with a small PDF attached base64-encoded in lines of 76 characters: a signed one
carries a signature dictionary with a /ByteRange, as a PAdES signature does.
"""
import base64

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
TRI_QUA = "000.00.12.H55"
PROVINCE = "000.00.00.H55"


def pdf(signed, title):
    body = [b"%PDF-1.7\n", b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n",
            b"3 0 obj\n<< /Title (" + title.encode() + b") >>\nendobj\n"]
    if signed:
        body.append(b"4 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "
                    b"/ByteRange [0 120 4216 300] /Contents <3082> >>\nendobj\n")
    body.append(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return b"".join(body)


def b64(data):
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def attachment(name, data, content_type="application/pdf"):
    return f"""    <edXML:Attachment>
      <edXML:ContentId>{name}</edXML:ContentId>
      <edXML:ContentType>{content_type}</edXML:ContentType>
      <edXML:Description>Tệp đính kèm</edXML:Description>
      <edXML:AttachmentName>{name}</edXML:AttachmentName>
      <edXML:ContentTransferEncoded>base64</edXML:ContentTransferEncoded>
      <edXML:Value>{b64(data)}</edXML:Value>
    </edXML:Attachment>
"""


def package(sender, recipient, number, notation, date, business, attachments, subject):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXMLEnvelope xmlns:edXML="{NS}">
  <edXML:edXMLHeader>
    <edXML:MessageHeader>
      <edXML:From>
        <edXML:OrganId>{sender}</edXML:OrganId>
        <edXML:OrganizationInCharge>Ủy ban nhân dân</edXML:OrganizationInCharge>
        <edXML:OrganName>Ủy ban nhân dân phường Trí Quả</edXML:OrganName>
        <edXML:OrganAdd>Thị xã Thuận Thành, tỉnh Bắc Ninh</edXML:OrganAdd>
        <edXML:Email>ubnd.triqua@bacninh.gov.vn</edXML:Email>
      </edXML:From>
      <edXML:To>
        <edXML:OrganId>{recipient}</edXML:OrganId>
        <edXML:OrganName>Ủy ban nhân dân</edXML:OrganName>
      </edXML:To>
      <edXML:DocumentId>{sender},{date},{number}/{notation}</edXML:DocumentId>
      <edXML:Code>
        <edXML:CodeNumber>{number}</edXML:CodeNumber>
        <edXML:CodeNotation>{notation}</edXML:CodeNotation>
      </edXML:Code>
      <edXML:PromulgationInfo>
        <edXML:Place>Trí Quả</edXML:Place>
        <edXML:PromulgationDate>{date}</edXML:PromulgationDate>
      </edXML:PromulgationInfo>
      <edXML:DocumentType>
        <edXML:Type>1</edXML:Type>
        <edXML:TypeName>Báo cáo</edXML:TypeName>
      </edXML:DocumentType>
      <edXML:Subject>{subject}</edXML:Subject>
      <edXML:Content>V/v {subject} &amp; các nội dung liên quan</edXML:Content>
      <edXML:SignerInfo>
        <edXML:Competence>TM. Ủy ban nhân dân</edXML:Competence>
        <edXML:Position>Chủ tịch</edXML:Position>
        <edXML:FullName>Nguyễn Văn A</edXML:FullName>
      </edXML:SignerInfo>
      <edXML:SteeringType>0</edXML:SteeringType>
    </edXML:MessageHeader>
    <edXML:TraceHeaderList>
      <edXML:TraceHeader>
        <edXML:OrganId>{sender}</edXML:OrganId>
        <edXML:Timestamp>{date.replace('/', '-')}T08:30:00+07:00</edXML:Timestamp>
      </edXML:TraceHeader>
      <edXML:Bussiness>
        <edXML:BussinessDocType>{business}</edXML:BussinessDocType>
        <edXML:BussinessDocReason></edXML:BussinessDocReason>
        <edXML:Paper>0</edXML:Paper>
      </edXML:Bussiness>
    </edXML:TraceHeaderList>
  </edXML:edXMLHeader>
  <edXML:AttachmentEncoded>
{''.join(attachments)}  </edXML:AttachmentEncoded>
</edXML:edXMLEnvelope>
"""


def status(sender, recipient, document):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML:edXMLEnvelope xmlns:edXML="{NS}">
  <edXML:edXMLHeader>
    <edXML:MessageStatus>
      <edXML:ResponseFor>
        <edXML:OrganId>{recipient}</edXML:OrganId>
        <edXML:Code>{document}</edXML:Code>
        <edXML:PromulgationDate>2026/04/20</edXML:PromulgationDate>
        <edXML:DocumentId>{recipient},2026/04/20,{document}</edXML:DocumentId>
      </edXML:ResponseFor>
      <edXML:From>
        <edXML:OrganId>{sender}</edXML:OrganId>
        <edXML:OrganName>Văn phòng UBND tỉnh</edXML:OrganName>
      </edXML:From>
      <edXML:StatusCode>03</edXML:StatusCode>
      <edXML:Description>Đã tiếp nhận</edXML:Description>
      <edXML:Timestamp>2026-04-20T09:00:00+07:00</edXML:Timestamp>
    </edXML:MessageStatus>
  </edXML:edXMLHeader>
  <edXML:AttachmentEncoded/>
</edXML:edXMLEnvelope>
"""


EXAMPLES = {
    "signed.xml": package(TRI_QUA, PROVINCE, "103", "BC-UBND", "2026/04/20", 0,
                          [attachment("103-BC-UBND.pdf", pdf(True, "Bao cao 103"))],
                          "Báo cáo chuyển đổi số tháng 4"),
    "unsigned.xml": package(TRI_QUA, PROVINCE, "104", "TB-UBND", "2026/04/22", 0,
                            [attachment("104-TB-UBND.pdf", pdf(False, "Thong bao 104")),
                             attachment("phu-luc.docx", b"PK\x03\x04 not a pdf /ByteRange",
                                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")],
                            "Thông báo lịch tiếp công dân"),
    "update.xml": package(TRI_QUA, PROVINCE, "104", "TB-UBND", "2026/04/22", 2,
                          [attachment("104-TB-UBND.pdf", pdf(True, "Thong bao 104 ky so"))],
                          "Thông báo lịch tiếp công dân (cập nhật, ký số)"),
    "recall.xml": package(TRI_QUA, PROVINCE, "103", "BC-UBND", "2026/04/20", 1, [],
                          "Thu hồi báo cáo 103"),
    "incoming.xml": package(PROVINCE, TRI_QUA, "55", "CV-UBND", "2026/04/23", 0,
                            [attachment("55-CV-UBND.pdf", pdf(True, "Cong van 55"))],
                            "Công văn của tỉnh gửi phường"),
    "status.xml": status(PROVINCE, TRI_QUA, "103/BC-UBND"),
    "unknown-agency.xml": package("000.00.99.H55", "000.00.98.H55", "7", "QĐ-UBND", "2026/04/24", 0,
                                  [], "Quyết định của một cơ quan khác"),
}

if __name__ == "__main__":
    for name, text in EXAMPLES.items():
        with open(f"examples/{name}", "w", encoding="utf-8") as f:
            f.write(text)
